// The CDK entry point (cdk.json: `npx tsx infra/app.ts`); the wiring lives in canary-app.ts so tests synth the same app.
import { createCanaryApp } from './canary-app';

createCanaryApp().app.synth();
