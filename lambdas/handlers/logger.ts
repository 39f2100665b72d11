import { Logger } from '@aws-lambda-powertools/logger';

/** The structured logger every handler shares (Powertools: JSON lines with the run id appended). */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'canary-orchestrator' });
