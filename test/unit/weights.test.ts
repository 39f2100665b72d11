import { fromAlbWeights, sameWeights, toAlbWeights, weightsFor } from '../../lambdas/domain/weights';

describe('ALB weights (0–999 per target group)', () => {
  it.each<[number, number, number]>([
    [5, 50, 950],
    [25, 250, 750],
    [0.1, 1, 999],
    [0, 0, 999],
    [100, 999, 0],
    [99.9, 999, 1],
  ])('canary %d%% → canary %d, stable %d', (percent, canary, stable) => {
    expect(toAlbWeights(percent)).toEqual({ canary, stable });
  });

  it.each<[number, number, number]>([
    [50, 950, 5],
    [1, 999, 0.1],
    [0, 1, 0],
    [1, 0, 100],
    [0, 0, 0],
    [1, 1, 50],
  ])('canary %d, stable %d read as %d%% on the canary', (canary, stable, percent) => {
    expect(fromAlbWeights(canary, stable).canary).toBe(percent);
  });

  it('round-trips every 0.1% step', () => {
    for (let tenths = 0; tenths <= 1000; tenths++) {
      const percent = tenths / 10;
      const { canary, stable } = toAlbWeights(percent);
      expect(fromAlbWeights(canary, stable).canary).toBeCloseTo(percent, 5);
    }
  });

  it('clamps and rounds to 0.1%', () => {
    expect(weightsFor(12.345)).toEqual({ canary: 12.3, stable: 87.7 });
    expect(weightsFor(140).canary).toBe(100);
    expect(sameWeights(weightsFor(5), weightsFor(5.04))).toBe(true);
    expect(sameWeights(weightsFor(5), weightsFor(5.1))).toBe(false);
  });
});
