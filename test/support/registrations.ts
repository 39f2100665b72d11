/** A minimal ALB + Prometheus registration of `payments-api`, as the validation tests register it. */
export const PAYMENTS_REGISTRATION = {
  name: 'payments-api',
  traffic: {
    kind: 'alb',
    listenerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
    stableTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-stable/73e2d6bc24d8a067',
    canaryTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/payments-canary/83e2d6bc24d8a067',
  },
  metrics: { kind: 'prometheus', url: 'http://prometheus.monitoring:9090' },
};
