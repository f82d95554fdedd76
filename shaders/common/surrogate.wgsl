// Surrogate derivatives ψ(x) of the spike H(x), x = u' − θ (SPEC §2). Functions only.
// Chosen by the defines SURROGATE_IS_GAUSSIAN / SURROGATE_IS_FAST_SIGMOID; multi-Gaussian otherwise.
//   multi-Gaussian  ψ(x) = γ[(1+h)N(x;0,σ) − h N(x;σ,kσ) − h N(x;−σ,kσ)]
//   Gaussian        ψ(x) = γ N(x;0,σ)
//   fast sigmoid    ψ(x) = γ / (1 + α|x|)²
// N(x;μ,s) = exp(−(x−μ)²/(2s²)) / (√(2π) s). Constants come from the caller's uniforms.

struct SurrogateConsts { gamma: f32, sigma: f32, k: f32, h: f32, alpha: f32 }

fn normal_pdf(x: f32, mu: f32, s: f32) -> f32 {
  let d = x - mu;
  return exp(-(d * d) / (2.0 * s * s)) / (2.5066282746310002 * s);
}

fn surrogate_grad(x: f32, c: SurrogateConsts) -> f32 {
#if SURROGATE_IS_GAUSSIAN
  return c.gamma * normal_pdf(x, 0.0, c.sigma);
#else
#if SURROGATE_IS_FAST_SIGMOID
  let d = 1.0 + c.alpha * abs(x);
  return c.gamma / (d * d);
#else
  let ks = c.k * c.sigma;
  return c.gamma * ((1.0 + c.h) * normal_pdf(x, 0.0, c.sigma) - c.h * normal_pdf(x, c.sigma, ks) - c.h * normal_pdf(x, -c.sigma, ks));
#endif
#endif
}
