/**
 * Healing defaults and their rules, free of tfjs so that run configs (and the launch forms) can use them.
 * The measurements behind them: docs/localisation.md.
 */
import type { HealOptions } from "./heal";

export const RESIDUALS = ["dark", "abs"] as const;
export type ResidualKind = (typeof RESIDUALS)[number];

/**
 * One-step DDIM heals (x̂_0 straight from ε̂, one network call) from t₀ = 75, 16 noise seeds averaged into
 * one healed image, the dark residual against it and σ = 1, chosen on the road sample's
 * validation frames: pixel AUROC 0.923 there against 0.79 for one DDIM-10 heal from t₀ = 100 with
 * |y − x̂_0| and σ = 2. A DDIM-10 heal regenerates texture that the residual then flags, and keeps part of a
 * thin crack; averaged one-step heals estimate the clean image given the noised one, which has neither.
 * The image score (ImageScoring in heal.ts): the top 2 % of 13-pixel segment means minus 1.5 × the heatmap's
 * mean, chosen on the road validation frames and a synthetic development set together (0.927 and 0.954 image
 * AUROC there, against 0.885 and 0.915 for the top 1 % of single pixels).
 */
export const defaultHealOptions: HealOptions = {
  sampler: "ddim",
  steps: 1,
  t0: 75,
  eta: 0,
  seeds: 16,
  seed: 0,
  smoothSigma: 1,
  topkPercent: 2,
  lineLength: 13,
  background: 1.5,
  residual: "dark",
  batchSize: 32,
};

/** Network calls per heal when not given: one DDIM step (the default), every step for DDPM. */
export function defaultSteps(sampler: HealOptions["sampler"], t0: number): number {
  return sampler === "ddim" ? Math.min(defaultHealOptions.steps, t0) : t0;
}

/** Heals averaged per image when not given: several cheap one-step heals, else one full chain. */
export function defaultSeeds(steps: number): number {
  return steps === 1 ? defaultHealOptions.seeds : 1;
}
