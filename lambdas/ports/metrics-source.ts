/** A number from a metrics backend, or nothing (an empty result). */
export type QueryResult = { readonly kind: 'value'; readonly value: number } | { readonly kind: 'empty' };

/**
 * A Prometheus-compatible metrics backend (Prometheus, Amazon Managed Prometheus).
 * Failures throw MetricsQueryError; the analyze step turns them into `error` measurements.
 */
export interface QueryOptions {
  /** Evaluate at this instant instead of now (the API's standard `time` parameter). */
  readonly at?: Date;
}

export interface MetricsSource {
  /** Runs an instant PromQL query that must yield at most one number (NaN and ±Inf included). */
  query(promql: string, options?: QueryOptions): Promise<QueryResult>;
}
