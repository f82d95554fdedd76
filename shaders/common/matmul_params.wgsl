// matmul_params.wgsl — the uniform parameters of the matmul kernels, shared by shaders/matmul.wgsl
// (register-tiled) and shaders/matmul_shared.wgsl (workgroup-memory tiled): both are launched by
// src/kernels/matmul.ts with the same fields. Batches (matmul.wgsl's header): workgroup_id.z picks
// one of two alike products whose operands lie at a fixed distance (z_* strides, elements).

struct ForwardParams {
  M: u32, N: u32, K1: u32, K2: u32,
  has_bias: u32, accumulate: u32,
  z_x1: u32, z_x2: u32, z_w: u32, z_b: u32, z_y: u32,  // batch strides, elements
  w_split: u32, w2_off: u32,  // 1: W1 (N×K1) and W2 (N×K2, from element w2_off) instead of W (N×(K1+K2))
}

struct InputGradParams {
  M: u32, N: u32, K: u32, KW: u32,
  off: u32, accumulate: u32,
  z_dy: u32, z_w: u32, z_dx: u32,  // batch strides, elements
  z_sum: u32,  // products summed into each output: dX = Σ_s dY_s·W_s (1: one product per output)
}

struct WeightGradParams {
  M: u32, N: u32, K: u32, KW: u32,
  off: u32, has_bias: u32,
  z_dy: u32, z_x: u32, z_dw: u32, z_db: u32,  // batch strides, elements
  db_in_dw: u32, db_off: u32,  // 1: db lies in dW's buffer, db_off elements after dW's binding
}
