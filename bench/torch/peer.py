#!/usr/bin/env python3
"""PyTorch peer of webgpu-snn: the SPEC §1-4 network and its FPTT / BPTT steps, written the way a
PyTorch user would write them (nn.Module, autograd, the spike as a torch.autograd.Function with the
multi-Gaussian surrogate, torch.optim.Adam / Adamax, clip_grad_norm_, the FPTT regulariser R added
to the loss and λ, W̄ updated by hand under torch.no_grad()).

Subcommands (run `peer.py COMMAND --help`):
  trace CASE.json --out TRACE.json [--device cpu|cuda] [--compiled]
      the SPEC §7 parity trace of a case (pure online FPTT, K = T).
  parity CASE.json OUR_TRACE.json [--device ..] [--compiled]
      runs the peer's trace of CASE and compares it with OUR_TRACE (SPEC §7 tolerances); prints
      max abs / rel differences per quantity; exit 1 on a mismatch.
  make-cases DIR
      writes the self-check cases (SPEC §7 format) into DIR.
  selfcheck --our "node bin/webgpu-snn.js" [--device ..] [--compiled-cases N]
      makes the cases, runs our engine's trace and the peer's on each, compares them.
  bench [--device cuda] [--quick] [--json] [--modes eager,compiled]
      ms per FPTT step, per BPTT sequence and per inference sequence, Add and S-MNIST nets.

Only torch, numpy and the standard library are used.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

for _k in ("recompile_limit", "cache_size_limit"):  # name varies across torch versions
    if hasattr(torch._dynamo.config, _k):
        setattr(torch._dynamo.config, _k, 64)

# ------------------------------------------------------------------------------------------------
# Surrogate spike (SPEC §2)

SUR_GAMMA, SUR_SIGMA, SUR_K, SUR_H = 0.5, 0.3, 6.0, 0.15
_SQ2PI = math.sqrt(2.0 * math.pi)
_C0 = SUR_GAMMA * (1.0 + SUR_H) / (_SQ2PI * SUR_SIGMA)
_C1 = SUR_GAMMA * SUR_H / (_SQ2PI * SUR_K * SUR_SIGMA)
_A0 = -1.0 / (2.0 * SUR_SIGMA * SUR_SIGMA)
_A1 = -1.0 / (2.0 * SUR_K * SUR_K * SUR_SIGMA * SUR_SIGMA)


def multi_gaussian(v: torch.Tensor) -> torch.Tensor:
    """ψ(v) = γ[(1+h)N(v;0,σ) − hN(v;σ,kσ) − hN(v;−σ,kσ)]."""
    return _C0 * torch.exp(v * v * _A0) - _C1 * (torch.exp((v - SUR_SIGMA) ** 2 * _A1) + torch.exp((v + SUR_SIGMA) ** 2 * _A1))


class SpikeFn(torch.autograd.Function):
    """Forward H(v) with H(0) = 0; backward ψ(v)·grad."""

    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        return grad * multi_gaussian(v)


spike = SpikeFn.apply

# ------------------------------------------------------------------------------------------------
# Network (SPEC §1, §3). Parameters are stored in SPEC's layout, which is PyTorch's (out × in).


def xavier(rows: int, cols: int) -> nn.Parameter:
    w = torch.empty(rows, cols)
    nn.init.xavier_normal_(w)
    return nn.Parameter(w)


class LTCLayer(nn.Module):
    def __init__(self, d_in: int, H: int, recurrent: bool, adapt: bool, neuron: dict):
        super().__init__()
        self.H, self.recurrent, self.adapt = H, recurrent, adapt
        self.b0, self.beta, self.theta_fixed = neuron["b0"], neuron["beta"], neuron["thetaFixed"]
        self.Wx = xavier(H, d_in)
        if recurrent:
            self.Wr = nn.Parameter(torch.empty(H, H))
            nn.init.orthogonal_(self.Wr)
        self.bx = nn.Parameter(torch.zeros(H))
        self.Wtm = xavier(H, 2 * H)
        self.btm = nn.Parameter(torch.zeros(H))
        if adapt:
            self.Wta = xavier(H, 2 * H)
            self.bta = nn.Parameter(torch.zeros(H))

    def forward(self, x, u, s, b):
        I = F.linear(x, self.Wx, self.bx)
        if self.recurrent:
            I = I + F.linear(s, self.Wr)
        tm = torch.sigmoid(F.linear(torch.cat([I, u], 1), self.Wtm, self.btm))
        if self.adapt:
            ta = torch.sigmoid(F.linear(torch.cat([I, b], 1), self.Wta, self.bta))
            b = ta * b + (1 - ta) * s
            theta = self.b0 + self.beta * b
        else:
            theta = self.theta_fixed
        up = (1 - tm) * u + tm * I
        margin = up - theta
        s_new = spike(margin)
        u_new = (1 - s_new) * up
        return u_new, s_new, b, margin


class Readout(nn.Module):
    """Liquid (τo = σ(W_τo[z; o] + b_τo)) or plain (τo = σ(po)) leaky integrator."""

    def __init__(self, H: int, C: int, liquid: bool):
        super().__init__()
        self.liquid = liquid
        self.Wo = xavier(C, H)
        self.bo = nn.Parameter(torch.zeros(C))
        if liquid:
            self.Wto = xavier(C, 2 * C)
            self.bto = nn.Parameter(torch.zeros(C))
        else:
            self.po = nn.Parameter(torch.zeros(C))

    def forward(self, s_last, o):
        z = F.linear(s_last, self.Wo, self.bo)
        if self.liquid:
            to = torch.sigmoid(F.linear(torch.cat([z, o], 1), self.Wto, self.bto))
        else:
            to = torch.sigmoid(self.po)
        return (1 - to) * o + to * z


class LinearHead(nn.Module):
    """The Add task's Linear(H → 1) on the last layer's membrane u (SPEC names Wl, bl)."""

    def __init__(self, H: int):
        super().__init__()
        self.Wl = xavier(1, H)
        self.bl = nn.Parameter(torch.zeros(1))

    def forward(self, u_last):
        return F.linear(u_last, self.Wl, self.bl).squeeze(1)


class LTCNet(nn.Module):
    """Dense LTC-SN layers → readout (task 'classify') or Linear head on u (task 'regress')."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.cfg = cfg
        self.task = cfg["task"]
        self.C = cfg["classes"]
        layers, d = [], cfg["input"]
        for l in cfg["layers"]:
            layers.append(LTCLayer(d, l["size"], l["recurrent"], l["adapt"], cfg["neuron"]))
            d = l["size"]
        self.layers = nn.ModuleList(layers)
        self.head = Readout(d, self.C, cfg["readout"]["liquid"]) if self.task == "classify" else LinearHead(d)

    # state: flat tuple (u0, s0, b0, u1, s1, b1, ..., [o]) so that it passes through torch.compile
    def step(self, x, state):
        new, margins, inp = [], [], x
        for i, layer in enumerate(self.layers):
            u, s, b, m = layer(inp, state[3 * i], state[3 * i + 1], state[3 * i + 2])
            new += [u, s, b]
            margins.append(m)
            inp = s
        if self.task == "classify":
            o = self.head(inp, state[-1])
            new.append(o)
            return tuple(new), o, margins
        return tuple(new), self.head(new[-3]), margins

    def loss(self, out, target, w):
        """Classification: w·CE(y) + (1−w)·CE(uniform Q), batch mean. Add task: w·MSE."""
        if self.task == "classify":
            logp = F.log_softmax(out, dim=1)
            ce_y = F.nll_loss(logp, target)
            ce_q = -(logp.sum(1) / self.C).mean()
            return w * ce_y + (1 - w) * ce_q
        return w * F.mse_loss(out, target)

    def spec_params(self) -> list[tuple[str, nn.Parameter]]:
        """(SPEC §7 name, parameter), in the SPEC order."""
        out = []
        for i, l in enumerate(self.layers):
            for n in ["Wx", "Wr", "bx", "Wtm", "btm", "Wta", "bta"]:
                if hasattr(l, n):
                    out.append((f"l{i}.{n}", getattr(l, n)))
        h = self.head
        for n in ["Wo", "bo", "Wto", "bto", "po", "Wl", "bl"]:
            if hasattr(h, n):
                out.append((n, getattr(h, n)))
        return out

    def state_names(self) -> list[str]:
        names = [f"l{i}.{v}" for i in range(len(self.layers)) for v in "usb"]
        return names + (["o"] if self.task == "classify" else [])

    def initial_state(self, B: int, kind: str, gen: torch.Generator, device) -> tuple:
        """'spec': u ~ U(0,1), s = 0, b = b0, o = 0; 'zero': all zero (Add task)."""
        st = []
        for l in self.layers:
            if kind == "spec":
                st += [torch.rand(B, l.H, generator=gen).to(device), torch.zeros(B, l.H, device=device), torch.full((B, l.H), l.b0, device=device)]
            else:
                st += [torch.zeros(B, l.H, device=device) for _ in range(3)]
        if self.task == "classify":
            st.append(torch.zeros(B, self.C, device=device))
        return tuple(st)


# ------------------------------------------------------------------------------------------------
# Trainers (SPEC §4): FPTT pure online (K = T), FPTT-K, BPTT; inference.


class Trainer:
    """Holds the optimiser and the FPTT tensors (W̄, λ) of a net. `compiled` wraps the step in
    torch.compile (forward + loss; the update — clip, optimiser, λ, W̄ — as a second graph)."""

    def __init__(self, net: LTCNet, fptt: dict, opt: dict, compiled: bool = False, compile_mode: str = "default"):
        self.net = net
        self.alpha, self.beta, self.clip = fptt["alpha"], fptt["beta"], fptt["clip"]
        self.params = [p for _, p in net.spec_params()]
        Opt = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax}[opt["kind"]]
        self.opt = Opt(self.params, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
        with torch.no_grad():
            self.mean = [p.detach().clone() for p in self.params]  # W̄ = W
            self.lam = [torch.zeros_like(p) for p in self.params]  # λ = 0
        self.compiled = compiled
        impls = (self._step_impl, self._fptt_step_impl, self._fptt_update_impl, self._plain_update_impl)
        if compiled:
            kw = {} if compile_mode == "default" else {"mode": compile_mode}
            impls = tuple(torch.compile(f, **kw) for f in impls)
        self._step, self._fptt_step, self._fptt_update, self._plain_update = impls
        # CUDA graphs (mode reduce-overhead): tell them where an iteration begins, as the docs ask
        self._cudagraphs = compiled and "reduce-overhead" in compile_mode

    def _mark_iteration(self):
        if self._cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()

    def regulariser(self):
        """R(W) = Σ_W [−⟨W, λ⟩ + (α/2)‖W − W̄‖²]."""
        r = 0.0
        for p, lam, mean in zip(self.params, self.lam, self.mean):
            r = r + (-(p * lam).sum() + (self.alpha / 2) * ((p - mean) ** 2).sum())
        return r

    def _step_impl(self, x, state, target, w):
        """One time step; the task loss weighted by w (None: no loss at this step)."""
        state, out, margins = self.net.step(x, state)
        return state, (None if w is None else self.net.loss(out, target, w)), out, margins

    def _fptt_step_impl(self, x, state, target, w):
        """One step with ℓ_t and the objective ℓ_t + R (the graph torch.compile sees in FPTT)."""
        state, out, margins = self.net.step(x, state)
        loss = self.net.loss(out, target, w)
        return state, loss, loss + self.regulariser(), margins

    def _fptt_update_impl(self):
        gn = torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        with torch.no_grad():
            for p, lam, mean in zip(self.params, self.lam, self.mean):
                lam.sub_(self.alpha * (p - mean))  # λ ← λ − α(W − W̄)   (new W, old W̄)
                mean.add_(self.beta * (p - mean)).sub_((self.beta / self.alpha) * lam)  # W̄ ← W̄ + β(W − W̄) − (β/α)λ
        return gn

    def _plain_update_impl(self):
        gn = torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        return gn

    def _run(self, xs, state, target, ws):
        """len(xs) steps from `state`, gradient through them; ℓ = Σ_t ℓ_t over the steps whose
        weight ws[t] is given (None: no loss there)."""
        total, margins = None, []
        for x, w in zip(xs, ws):
            state, l, _, margins = self._step(x, state, target, w)
            if l is not None:
                total = l if total is None else total + l
        return state, total, margins

    def fptt_chunk(self, xs, state, target, ws):
        """One FPTT update over a chunk (K = T: a chunk of one step): state in detached, ℓ + R,
        backward, clip, optimiser, λ, W̄. Returns (new state detached, ℓ without R, ‖g‖ before
        clipping, u' − θ of the chunk's last step)."""
        self._mark_iteration()
        state = tuple(s.detach() for s in state)
        self.opt.zero_grad(set_to_none=True)
        if len(xs) == 1:
            new_state, loss, objective, margins = self._fptt_step(xs[0], state, target, ws[0])
        else:
            new_state, loss, margins = self._run(xs, state, target, ws)
            objective = loss + self.regulariser()
        objective.backward()
        gn = self._fptt_update()
        return tuple(s.detach() for s in new_state), loss.detach(), gn, margins

    def fptt_sequence_k(self, xs, state, target, K):
        """FPTT-K over a sequence: K chunks, one update each, the loss at the chunk's last step
        with weight (p+1)/K (SPEC §4)."""
        T = len(xs)
        bounds = [round(T * p / K) for p in range(K + 1)]
        loss = gn = None
        for p in range(K):
            chunk = xs[bounds[p]:bounds[p + 1]]
            ws = [None] * (len(chunk) - 1) + [torch.tensor((p + 1) / K, device=chunk[0].device)]
            state, loss, gn, _ = self.fptt_chunk(chunk, state, target, ws)
        return state, loss, gn

    def bptt_sequence(self, xs, state, target, ws):
        """BPTT: one update per sequence, gradient through all T steps, no FPTT terms."""
        self._mark_iteration()
        self.opt.zero_grad(set_to_none=True)
        new_state, loss, _ = self._run(xs, state, target, ws)
        loss.backward()
        gn = self._plain_update()
        return tuple(s.detach() for s in new_state), loss.detach(), gn

    @torch.no_grad()
    def infer_sequence(self, xs, state):
        """Forward only over the sequence; the last step's output (readout o, or the Add head)."""
        self._mark_iteration()
        out = None
        for x in xs:
            state, _, out, _ = self._step(x, state, None, None)
        return out


# ------------------------------------------------------------------------------------------------
# SPEC §7 case: validation, trace


class CaseError(Exception):
    pass


def _fail(msg):
    raise CaseError(f"trace case: {msg}")


def _pos_int(o, k, where=""):
    v = o.get(k)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        _fail(f"{where}{k} must be a positive integer, got {json.dumps(v)}")
    return v


def _sub(o, k, allowed):
    v = o.get(k, {})
    if not isinstance(v, dict):
        _fail(f"{k} must be an object")
    for f in v:
        if f not in allowed:
            _fail(f"unknown field {k}.{f} (expected one of {', '.join(allowed)})")
    return v


def _num(o, k, where, default):
    v = o.get(k, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        _fail(f"{where}{k} must be a finite number, got {json.dumps(v)}")
    return float(v)


def _bool(o, k, where, default):
    v = o.get(k, default)
    if not isinstance(v, bool):
        _fail(f"{where}{k} must be true or false, got {json.dumps(v)}")
    return v


def _nums(v, what, n, shape):
    if not isinstance(v, list):
        _fail(f"{what} must be an array of {n} numbers ({shape})")
    if len(v) != n:
        _fail(f"{what} has {len(v)} numbers, expected {n} ({shape})")
    for i, e in enumerate(v):
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e):
            _fail(f"{what}[{i}] is {json.dumps(e)}, expected a finite number")
    return v


CASE_FIELDS = {"batch": True, "steps": True, "input": True, "classes": True, "layers": True, "neuron": False,
               "readout": False, "fptt": False, "optimizer": False, "params": True, "state": True, "x": True, "y": True}


def param_shapes(cfg: dict) -> list[tuple[str, tuple]]:
    out, d = [], cfg["input"]
    for i, l in enumerate(cfg["layers"]):
        H = l["size"]
        out.append((f"l{i}.Wx", (H, d)))
        if l["recurrent"]:
            out.append((f"l{i}.Wr", (H, H)))
        out += [(f"l{i}.bx", (H,)), (f"l{i}.Wtm", (H, 2 * H)), (f"l{i}.btm", (H,))]
        if l["adapt"]:
            out += [(f"l{i}.Wta", (H, 2 * H)), (f"l{i}.bta", (H,))]
        d = H
    C = cfg["classes"]
    out += [("Wo", (C, d)), ("bo", (C,))]
    out += [("Wto", (C, 2 * C)), ("bto", (C,))] if cfg["readout"]["liquid"] else [("po", (C,))]
    return out


def validate_case(c) -> dict:
    """Checks a parsed SPEC §7 case; returns the net configuration. Raises CaseError naming the field."""
    if not isinstance(c, dict):
        _fail("must be a JSON object")
    for k in c:
        if k not in CASE_FIELDS:
            _fail(f'unknown field "{k}" (expected one of {", ".join(CASE_FIELDS)})')
    for k, req in CASE_FIELDS.items():
        if req and k not in c:
            _fail(f'missing field "{k}"')
    B, T, D, C = (_pos_int(c, k) for k in ("batch", "steps", "input", "classes"))
    if not isinstance(c["layers"], list) or not c["layers"]:
        _fail("layers must be a non-empty array of { size, recurrent, adapt }")
    layers = []
    for i, l in enumerate(c["layers"]):
        if not isinstance(l, dict):
            _fail(f"layers[{i}] must be an object")
        for f in l:
            if f not in ("size", "recurrent", "adapt"):
                _fail(f"unknown field layers[{i}].{f} (expected size, recurrent, adapt)")
        layers.append({"size": _pos_int(l, "size", f"layers[{i}]."), "recurrent": _bool(l, "recurrent", f"layers[{i}].", True),
                       "adapt": _bool(l, "adapt", f"layers[{i}].", True)})
    nj = _sub(c, "neuron", ["b0", "beta", "thetaFixed", "surrogate"])
    if nj.get("surrogate", "multi-gaussian") != "multi-gaussian":
        _fail(f'neuron.surrogate must be "multi-gaussian", got {json.dumps(nj["surrogate"])}')
    neuron = {k: _num(nj, k, "neuron.", d) for k, d in (("b0", 0.1), ("beta", 1.8), ("thetaFixed", 0.5))}
    rj = _sub(c, "readout", ["liquid"])
    fj = _sub(c, "fptt", ["alpha", "beta", "clip"])
    fptt = {k: _num(fj, k, "fptt.", d) for k, d in (("alpha", 0.1), ("beta", 0.5), ("clip", 1.0))}
    if not fptt["alpha"] > 0:
        _fail(f"fptt.alpha must be > 0, got {fptt['alpha']}")
    oj = _sub(c, "optimizer", ["kind", "lr", "beta1", "beta2", "eps"])
    kind = oj.get("kind", "adam")
    if kind not in ("adam", "adamax"):
        _fail(f'optimizer.kind must be "adam" or "adamax", got {json.dumps(kind)}')
    opt = {"kind": kind, **{k: _num(oj, k, "optimizer.", d) for k, d in (("lr", 3e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8))}}
    cfg = {"task": "classify", "batch": B, "steps": T, "input": D, "classes": C, "layers": layers, "neuron": neuron,
           "readout": {"liquid": _bool(rj, "liquid", "readout.", True)}, "fptt": fptt, "optimizer": opt}
    pj = c["params"]
    if not isinstance(pj, dict):
        _fail("params must be an object of named number arrays")
    shapes = param_shapes(cfg)
    names = [n for n, _ in shapes]
    for k in pj:
        if k not in names:
            _fail(f'unexpected parameter params["{k}"] for this configuration (expected {", ".join(names)})')
    for n, sh in shapes:
        sym = "×".join(str(s) for s in sh)
        if n not in pj:
            _fail(f'missing parameter params["{n}"] ({sym})')
        _nums(pj[n], f'params["{n}"]', math.prod(sh), sym)
    sj = c["state"]
    if not isinstance(sj, dict):
        _fail("state must be an object of named number arrays")
    snames = {f"l{i}.{v}": l["size"] for i, l in enumerate(layers) for v in "usb"}
    snames["o"] = C
    for k in sj:
        if k not in snames:
            _fail(f'unexpected state state["{k}"] (expected {", ".join(snames)})')
    for n, H in snames.items():
        if n not in sj:
            _fail(f'missing state state["{n}"] (B×{"C" if n == "o" else "H"} = {B}×{H})')
        _nums(sj[n], f'state["{n}"]', B * H, f"{B}×{H}")
    if not isinstance(c["x"], list):
        _fail(f"x must be an array of {T} steps, each of {B * D} numbers (B×D = {B}×{D})")
    if len(c["x"]) != T:
        _fail(f"x has {len(c['x'])} steps, expected {T} (steps)")
    for t, xt in enumerate(c["x"]):
        _nums(xt, f"x[{t}]", B * D, f"B×D = {B}×{D}")
    if not isinstance(c["y"], list):
        _fail(f"y must be an array of {B} class indices (batch)")
    if len(c["y"]) != B:
        _fail(f"y has {len(c['y'])} numbers, expected {B} (batch)")
    for i, v in enumerate(c["y"]):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < C:
            _fail(f"y[{i}] is {json.dumps(v)}, expected a class index in 0..{C - 1}")
    return cfg


def load_json(path: str, what: str):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise CaseError(f"{path}: no such file ({what})")
    except json.JSONDecodeError as e:
        raise CaseError(f"{path}: not valid JSON ({e}) ({what})")


def set_precision(device: str):
    # float32 everywhere, as our engine: no TF32 in matmuls on the GPU
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise CaseError("--device cuda: torch.cuda.is_available() is False on this machine")
    if name not in ("cpu", "cuda"):
        raise CaseError(f"--device must be cpu or cuda, got {name!r}")
    return torch.device(name)


def from_case(case: dict, device: torch.device, compiled=False, compile_mode="default"):
    """Net, trainer, initial state, inputs and labels of a SPEC §7 case."""
    cfg = validate_case(case)
    set_precision(device.type)
    net = LTCNet(cfg).to(device)
    f32 = lambda v, shape: torch.tensor(v, dtype=torch.float32, device=device).reshape(shape)
    with torch.no_grad():
        for name, p in net.spec_params():
            p.copy_(f32(case["params"][name], p.shape))
    B = cfg["batch"]
    state = tuple(f32(case["state"][n], (B, -1)) for n in net.state_names())
    y = torch.tensor(case["y"], dtype=torch.long, device=device)
    xs = [f32(x, (B, cfg["input"])) for x in case["x"]]
    return cfg, net, Trainer(net, cfg["fptt"], cfg["optimizer"], compiled=compiled, compile_mode=compile_mode), state, xs, y


def peer_trace(case: dict, device: torch.device, compiled=False, compile_mode="default"):
    """SPEC §7 trace (pure online FPTT, K = T). Returns (trace dict, margins[t][layer] = u' − θ)."""
    cfg, net, tr, state, xs, y = from_case(case, device, compiled, compile_mode)
    T = cfg["steps"]
    steps, margins = [], []
    for t in range(T):
        w = torch.tensor((t + 1) / T, dtype=torch.float32, device=device)
        state, loss, gn, m = tr.fptt_chunk([xs[t]], state, y, [w])
        steps.append({"loss": loss.item(), "gradNorm": gn.item(),
                      "state": {n: s.flatten().tolist() for n, s in zip(net.state_names(), state)}})
        margins.append([mm.detach().flatten().cpu().numpy() for mm in m])
    names = [n for n, _ in net.spec_params()]
    flat = lambda ts: {n: p.detach().flatten().tolist() for n, p in zip(names, ts)}
    return {"steps": steps, "params": flat(tr.params), "mean": flat(tr.mean), "lambda": flat(tr.lam)}, margins


# ------------------------------------------------------------------------------------------------
# Comparison (SPEC §7 tolerances: |a − b| ≤ 1e-5 + 1e-4·|b|; λ with atol 1e-6 as in the repo's
# own GPU-vs-CPU test; spikes identical wherever |u' − θ| > 1e-4)

ATOL, RTOL, LAMBDA_ATOL, MARGIN = 1e-5, 1e-4, 1e-6, 1e-4


class Compare:
    def __init__(self):
        self.rows = {}  # quantity -> [max abs, max rel, n bad, n, worst description]
        self.failures = []
        self.near_flips = 0

    def add(self, qty, what, ours, theirs, atol=ATOL, rtol=RTOL):
        a = np.asarray(ours, dtype=np.float64).ravel()
        b = np.asarray(theirs, dtype=np.float64).ravel()
        row = self.rows.setdefault(qty, [0.0, 0.0, 0, 0, ""])
        if a.shape != b.shape:
            self.failures.append(f"{what}: ours has {a.size} values, the peer {b.size}")
            row[2] += 1
            return
        d = np.abs(a - b)
        d[np.isnan(d)] = np.inf
        rel = d / np.maximum(np.abs(b), 1e-30)
        bad = ~(d <= atol + rtol * np.abs(b))
        if d.size:
            i = int(np.argmax(d))
            if d[i] >= row[0]:
                row[0], row[4] = float(d[i]), f"{what}[{i}]: ours {a[i]:.9g}, peer {b[i]:.9g}"
            row[1] = max(row[1], float(np.max(np.where(np.abs(b) > atol, rel, 0.0))))
        row[2] += int(bad.sum())
        row[3] += a.size
        if bad.any():
            j = int(np.argmax(bad))
            self.failures.append(f"{what}: {int(bad.sum())} of {a.size} out of tolerance (first [{j}]: ours {a[j]:.9g}, peer {b[j]:.9g}; max |Δ| {d.max():.3g})")

    def spikes(self, what, ours, theirs, margin):
        a, b = np.asarray(ours).ravel(), np.asarray(theirs).ravel()
        row = self.rows.setdefault("spikes", [0.0, 0.0, 0, 0, ""])
        if a.shape != b.shape:
            self.failures.append(f"{what}: ours has {a.size} values, the peer {b.size}")
            row[2] += 1
            return
        diff = a != b
        row[3] += a.size
        if margin is not None:
            near = np.abs(margin) <= MARGIN
            self.near_flips += int((diff & near).sum())
            diff = diff & ~near
        row[0] = max(row[0], float(np.abs(a - b).max()) if a.size else 0.0)
        row[2] += int(diff.sum())
        if diff.any():
            j = int(np.argmax(diff))
            m = f", u'−θ = {margin[j]:.3g}" if margin is not None else ""
            self.failures.append(f"{what}: {int(diff.sum())} spikes differ (first [{j}]: ours {a[j]:g}, peer {b[j]:g}{m})")

    def report(self, out=sys.stdout):
        print(f"  {'quantity':<10} {'max |Δ|':>11} {'max rel':>11} {'out of tol':>11} {'values':>8}  worst", file=out)
        for q, (ma, mr, nb, n, w) in self.rows.items():
            print(f"  {q:<10} {ma:11.3e} {mr:11.3e} {nb:11d} {n:8d}  {w}", file=out)


def compare_traces(case: dict, ours: dict, peer: dict, margins) -> Compare:
    cmp = Compare()
    for key in ("steps", "params", "mean", "lambda"):
        if key not in ours:
            cmp.failures.append(f'our trace has no field "{key}"')
    if cmp.failures:
        return cmp
    if len(ours["steps"]) != len(peer["steps"]):
        cmp.failures.append(f"our trace has {len(ours['steps'])} steps, expected {len(peer['steps'])}")
        return cmp
    names_state = list(peer["steps"][0]["state"].keys())
    for t, (a, b) in enumerate(zip(ours["steps"], peer["steps"])):
        cmp.add("loss", f"step {t} loss", [a.get("loss", math.nan)], [b["loss"]])
        cmp.add("gradNorm", f"step {t} gradNorm", [a.get("gradNorm", math.nan)], [b["gradNorm"]])
        for n in names_state:
            if n not in a.get("state", {}):
                cmp.failures.append(f'step {t}: our state has no "{n}"')
                continue
            if n.endswith(".s"):
                li = int(n[1:n.index(".")])
                cmp.spikes(f"step {t} state {n}", a["state"][n], b["state"][n], margins[t][li] if margins else None)
            else:
                cmp.add("state", f"step {t} state {n}", a["state"][n], b["state"][n])
    for key, qty, atol in (("params", "W", ATOL), ("mean", "W̄", ATOL), ("lambda", "λ", LAMBDA_ATOL)):
        for n, v in peer[key].items():
            if n not in ours[key]:
                cmp.failures.append(f'our trace\'s {key} has no "{n}"')
                continue
            cmp.add(qty, f"{key} {n}", ours[key][n], v, atol=atol)
    return cmp


def spikes_emitted(trace) -> int:
    return int(sum(sum(v) for st in trace["steps"] for n, v in st["state"].items() if n.endswith(".s")))


def clipped_steps(trace, clip) -> int:
    return sum(1 for st in trace["steps"] if st["gradNorm"] > clip)


def run_parity(case: dict, ours: dict, device, compiled, compile_mode, label="") -> tuple[int, Compare]:
    """0 pass, 1 mismatch, 3 inconclusive (a spike flipped where |u' − θ| ≤ 1e-4: all later values legitimately differ)."""
    peer, margins = peer_trace(case, device, compiled, compile_mode)
    cmp = compare_traces(case, ours, peer, margins)
    fptt = validate_case(case)["fptt"]
    print(f"{label}{len(peer['steps'])} FPTT steps; spikes emitted {spikes_emitted(peer)}; steps with ‖g‖ > clip {clipped_steps(peer, fptt['clip'])}")
    cmp.report()
    if cmp.failures:
        rc = 3 if cmp.near_flips else 1
        if cmp.near_flips:
            print(f"  note: {cmp.near_flips} spike(s) flipped where |u'−θ| ≤ {MARGIN}; later differences follow from them")
        print("  MISMATCH:\n    " + "\n    ".join(cmp.failures[:12]) + (f"\n    … {len(cmp.failures) - 12} more" if len(cmp.failures) > 12 else ""))
        return rc, cmp
    print("  OK: within |a − b| ≤ 1e-5 + 1e-4·|b| (λ: 1e-6 + 1e-4·|b|), spikes identical")
    return 0, cmp


def check_fptt_k(case: dict, peer: dict, device) -> bool:
    """FPTT-K with K = T (Trainer.fptt_sequence_k, the chunked path) must give the trace's W, W̄, λ
    exactly; with K = T/2 (chunks of 2 steps, truncated BPTT inside) it must run and differ."""
    T = validate_case(case)["steps"]
    ok = True
    for K in (T, max(1, T // 2)):
        _, net, tr, state, xs, y = from_case(case, device)
        tr.fptt_sequence_k(xs, state, y, K)
        names = [n for n, _ in net.spec_params()]
        same = all(torch.equal(p.detach().flatten().cpu(), torch.tensor(peer[key][n], dtype=torch.float32))
                   for key, ts in (("params", tr.params), ("mean", tr.mean), ("lambda", tr.lam)) for n, p in zip(names, ts))
        if K == T and not same:
            print(f"  FPTT-K with K = T = {T}: W, W̄, λ differ from the step-by-step trace (expected identical)")
            ok = False
        if K != T and same:
            print(f"  FPTT-K with K = {K}: identical to K = T (expected different updates)")
            ok = False
    if ok:
        print(f"  FPTT-K: K = T = {T} reproduces the trace exactly; K = {max(1, T // 2)} (2-step chunks) runs")
    return ok


# ------------------------------------------------------------------------------------------------
# Case generator (SPEC §7 format)

CASES = [
    # name, B, D, C, T, layers, liquid, optimizer, fptt
    ("rec-adapt+ff-adapt_liquid_adam", 3, 4, 3, 12, [(6, True, True), (5, False, True)], True, "adam", {}),
    ("rec-adapt+ff-fixed_plain_adamax_clip0.3", 3, 4, 3, 12, [(6, True, True), (5, False, False)], False, "adamax", {"clip": 0.3}),
    ("ff-fixed_liquid_adamax", 4, 3, 4, 10, [(7, False, False)], True, "adamax", {}),
    ("rec-fixed_plain_adam_alpha0.5_beta0.3_clip0.05", 4, 2, 3, 10, [(8, True, False)], False, "adam", {"alpha": 0.5, "beta": 0.3, "clip": 0.05}),
    ("wide-2x32_liquid_adam", 8, 2, 5, 24, [(32, True, True), (32, True, True)], True, "adam", {}),
]


def make_case(spec, seed: int) -> dict:
    name, B, D, C, T, layers, liquid, optk, fptt = spec
    rng = np.random.default_rng(seed)
    layers = [{"size": h, "recurrent": r, "adapt": a} for h, r, a in layers]
    cfg = {"input": D, "classes": C, "layers": layers, "readout": {"liquid": liquid}}
    params = {}
    for n, sh in param_shapes(cfg):
        if len(sh) == 1:
            v = np.zeros(sh) if not n == "po" else rng.normal(0, 0.5, sh)  # po: not all zero, so σ(po) varies
        elif n.endswith(".Wr"):
            q, r = np.linalg.qr(rng.normal(size=sh))
            v = q * np.sign(np.diag(r))
        else:
            v = rng.normal(0, math.sqrt(2 / (sh[0] + sh[1])), sh)
        params[n] = v.astype(np.float32).ravel().tolist()
    state = {}
    for i, l in enumerate(layers):
        H = l["size"]
        state[f"l{i}.u"] = rng.uniform(0, 1, B * H).astype(np.float32).tolist()
        state[f"l{i}.s"] = [0.0] * (B * H)
        state[f"l{i}.b"] = [0.1] * (B * H)
    state["o"] = [0.0] * (B * C)
    return {
        "batch": B, "steps": T, "input": D, "classes": C, "layers": layers,
        "neuron": {"b0": 0.1, "beta": 1.8, "thetaFixed": 0.5, "surrogate": "multi-gaussian"},
        "readout": {"liquid": liquid},
        "fptt": {"alpha": 0.1, "beta": 0.5, "clip": 1.0, **fptt},
        "optimizer": {"kind": optk, "lr": 0.003, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "params": params, "state": state,
        "x": [rng.uniform(-0.5, 2.5, B * D).astype(np.float32).tolist() for _ in range(T)],
        "y": rng.integers(0, C, B).tolist(),
    }


def write_cases(d: str, seed: int) -> list[tuple[str, str]]:
    os.makedirs(d, exist_ok=True)
    out = []
    for i, spec in enumerate(CASES):
        p = os.path.join(d, f"case{i}_{spec[0]}.json")
        with open(p, "w") as f:
            json.dump(make_case(spec, seed + i), f)
        out.append((spec[0], p))
    return out


# ------------------------------------------------------------------------------------------------
# Benchmark (nets of bench/nets.ts, sizes of bench/tfjs.bench.ts)


def bench_nets(add_h, add_b, sm_h, sm_b):
    base = {"neuron": {"b0": 0.1, "beta": 1.8, "thetaFixed": 0.5}, "optimizer": {"lr": 3e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}}
    add = {"task": "regress", "batch": add_b, "input": 2, "classes": 1, "layers": [{"size": add_h, "recurrent": True, "adapt": False}],
           "neuron": base["neuron"], "readout": {"liquid": True}, "fptt": {"alpha": 0.5, "beta": 0.5, "clip": 1.0},
           "optimizer": {"kind": "adam", **base["optimizer"]}, "fpttT": 200, "init": "zero"}
    sm = {"task": "classify", "batch": sm_b, "input": 1, "classes": 10,
          "layers": [{"size": sm_h, "recurrent": True, "adapt": True}, {"size": sm_h, "recurrent": True, "adapt": True}],
          "neuron": base["neuron"], "readout": {"liquid": True}, "fptt": {"alpha": 0.1, "beta": 0.5, "clip": 1.0},
          "optimizer": {"kind": "adamax", **base["optimizer"]}, "fpttT": 784, "init": "spec"}
    return {"add": add, "smnist": sm}


def bench_data(key, cfg, T, gen, device):
    B = cfg["batch"]
    if key == "add":
        # (value ~ U(0,1), marker), one marker in each half; target = sum of the two marked values
        vals = torch.rand(T, B, generator=gen)
        mark = torch.zeros(T, B)
        half = max(1, T // 2)
        m1 = torch.randint(0, half, (B,), generator=gen)
        m2 = torch.clamp(half + torch.randint(0, max(1, T - half), (B,), generator=gen), max=T - 1)
        mark[m1, torch.arange(B)] = 1
        mark[m2, torch.arange(B)] = 1
        xs = torch.stack([vals, mark], 2)
        target = (vals * mark).sum(0)
        return [x.to(device) for x in xs], target.to(device)
    xs = torch.rand(T, B, cfg["input"], generator=gen)
    return [x.to(device) for x in xs], torch.randint(0, cfg["classes"], (B,), generator=gen).to(device)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_units(device, units, samples, warm, fn):
    for i in range(warm):
        fn(i)
    sync(device)
    out, i = [], warm
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(units):
            fn(i)
            i += 1
        sync(device)
        out.append((time.perf_counter() - t0) * 1000 / units)
    return out


def bench_case(key, cfg, what, mode, compile_mode, device, T, plan):
    # every case compiles its own graphs (a new module, other shapes); start from empty caches so
    # that the recompile limit of one code object is never what decides eager vs compiled
    torch._dynamo.reset()
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(3)
    net = LTCNet(cfg).to(device)
    tr = Trainer(net, cfg["fptt"], cfg["optimizer"], compiled=(mode == "compiled"), compile_mode=compile_mode)
    state0 = net.initial_state(cfg["batch"], cfg["init"], torch.Generator().manual_seed(1), device)
    units, samples, warm = plan
    t_compile = time.perf_counter()
    if what == "fptt_step":
        xs, target = bench_data(key, cfg, 16, gen, device)
        Tf = cfg["fpttT"]
        ws = [torch.tensor((t + 1) / Tf, device=device) for t in range(Tf)]
        st = {"s": state0}

        def fn(i):
            st["s"], _, _, _ = tr.fptt_chunk([xs[i % len(xs)]], st["s"], target, [ws[i % Tf]])
    else:
        xs, target = bench_data(key, cfg, T, gen, device)
        if what == "bptt_sequence":
            # classification: (1/T)·Σ_t ℓ_t with weights (t+1)/T; Add task: MSE at the last step
            if cfg["task"] == "classify":
                ws = [torch.tensor((t + 1) / T / T, device=device) for t in range(T)]
            else:
                ws = [None] * (T - 1) + [torch.tensor(1.0, device=device)]

            def fn(i):
                tr.bptt_sequence(xs, state0, target, ws)
        else:
            def fn(i):
                tr.infer_sequence(xs, state0)
    # first call (compiles in compiled mode), timed apart
    fn(0)
    sync(device)
    first_ms = (time.perf_counter() - t_compile) * 1000
    ms = time_units(device, units, samples, warm, fn)
    return ms, first_ms


def run_bench(args):
    device = resolve_device(args.device)
    set_precision(device.type)
    torch.set_num_threads(args.threads) if args.threads else None
    nets = bench_nets(args.add_h, args.add_b, args.smnist_h, args.smnist_b)
    q = args.quick
    plans = {"fptt_step": (5, 5, 2) if q else (20, 7, 5), "bptt_sequence": (1, 5, 1) if q else (1, 7, 2),
             "inference_sequence": (1, 5, 1) if q else (1, 7, 2)}
    T = args.T if args.T else (10 if q and device.type == "cpu" else 50)
    log = sys.stderr if args.json else sys.stdout
    modes = args.modes.split(",")
    for m in modes:
        if m not in ("eager", "compiled"):
            raise CaseError(f"--modes: unknown mode {m!r} (expected eager, compiled)")
    if args.compile_mode == "auto":
        cmodes = ["default", "reduce-overhead"] if device.type == "cuda" else ["default"]
    else:
        cmodes = [args.compile_mode]
    print(f"# torch {torch.__version__} on {device}{' (' + torch.cuda.get_device_name() + ')' if device.type == 'cuda' else ''}; "
          f"BPTT / inference T = {T}; quick = {q}; threads = {torch.get_num_threads()}", file=log)
    results = []
    for key in args.nets.split(","):
        if key not in nets:
            raise CaseError(f"--nets: unknown net {key!r} (expected add, smnist)")
        cfg = nets[key]
        for what in ("fptt_step", "bptt_sequence", "inference_sequence"):
            for mode in modes:
                best = None
                for cm in (cmodes if mode == "compiled" else ["-"]):
                    try:
                        ms, first = bench_case(key, cfg, what, mode, cm, device, T, plans[what])
                    except Exception as e:  # compile failure: say so, fall back to eager
                        print(f"# note: {key} {what} compiled ({cm}) failed: {type(e).__name__}: {str(e).splitlines()[0][:300]}; falling back to eager", file=log)
                        ms, first = bench_case(key, cfg, what, "eager", "-", device, T, plans[what])
                        cm = "eager-fallback"
                    rec = {"bench": "torch", "net": key, "mode": mode, "what": what, "ms_min": min(ms), "ms_median": statistics.median(ms),
                           "ms_max": max(ms), "samples": len(ms), "units_per_sample": plans[what][0],
                           "T": cfg["fpttT"] if what == "fptt_step" else T, "batch": cfg["batch"],
                           "hidden": [l["size"] for l in cfg["layers"]], "device": str(device), "torch": torch.__version__,
                           "first_call_ms": first}
                    if mode == "compiled":
                        rec["variant"] = cm
                    if len(cmodes) > 1 and mode == "compiled":
                        print(f"# {key} {what} compiled ({cm}): median {rec['ms_median']:.3f} ms", file=log)
                    if best is None or rec["ms_median"] < best["ms_median"]:
                        best = rec
                results.append(best)
                if args.json:
                    print(json.dumps(best), flush=True)
                else:
                    print(f"{key:7} {what:19} {mode:8} {best.get('variant', ''):16} median {best['ms_median']:9.3f} ms  "
                          f"(min {best['ms_min']:.3f}, max {best['ms_max']:.3f}, {best['samples']} samples; first call {first:.0f} ms)", flush=True)
    return 0


# ------------------------------------------------------------------------------------------------
# CLI


def cmd_trace(args):
    case = load_json(args.case, "a SPEC §7 case")
    tr, _ = peer_trace(case, resolve_device(args.device), args.compiled, args.compile_mode)
    with open(args.out, "w") as f:
        json.dump(tr, f)
    print(f"wrote {args.out} ({len(tr['steps'])} steps, torch {torch.__version__} on {args.device}{', compiled' if args.compiled else ''})")
    return 0


def cmd_parity(args):
    case = load_json(args.case, "a SPEC §7 case")
    ours = load_json(args.ours, "our engine's TRACE.json")
    validate_case(case)
    rc, _ = run_parity(case, ours, resolve_device(args.device), args.compiled, args.compile_mode,
                       label=f"{os.path.basename(args.case)} vs {os.path.basename(args.ours)} (peer on {args.device}{', compiled' if args.compiled else ''}): ")
    return rc


def cmd_make_cases(args):
    for name, p in write_cases(args.dir, args.seed):
        print(p)
    return 0


def cmd_selfcheck(args):
    device = resolve_device(args.device)
    d = args.dir or tempfile.mkdtemp(prefix="torch_peer_")
    cases = write_cases(d, args.seed)
    our = shlex.split(args.our)
    worst, summary = 0, []
    print(f"selfcheck: {len(cases)} cases in {d}; ours: {args.our}; peer: torch {torch.__version__} on {device}")
    for i, (name, p) in enumerate(cases):
        out = p.replace(".json", ".ours.trace.json")
        t0 = time.perf_counter()
        r = subprocess.run(our + ["trace", p, "--out", out], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"[{name}] our trace FAILED (exit {r.returncode}): {(r.stderr or r.stdout).strip()[-2000:]}")
            worst = max(worst, 1)
            summary.append((name, "ours failed"))
            continue
        print(f"[{name}] ours: {r.stdout.strip()} ({time.perf_counter() - t0:.1f} s)")
        case, ours = load_json(p, "case"), load_json(out, "our trace")
        modes = [False] + ([True] if i < args.compiled_cases else [])
        for comp in modes:
            label = f"[{name}] peer {'compiled' if comp else 'eager'}: "
            try:
                rc, _ = run_parity(case, ours, device, comp, args.compile_mode, label=label)
            except Exception as e:
                if not comp:
                    raise
                # the bench falls back to eager (and says so) in the same situation
                print(f"{label}torch.compile FAILED ({type(e).__name__}: {str(e).splitlines()[0][:300]}); not a parity result")
                summary.append((name + " (compiled)", "NO-COMPILE"))
                continue
            summary.append((name + (" (compiled)" if comp else ""), {0: "OK", 1: "MISMATCH", 3: "INCONCLUSIVE"}[rc]))
            worst = max(worst, rc)
        if i == 0:
            peer, _ = peer_trace(case, device)
            if not check_fptt_k(case, peer, device):
                worst = max(worst, 1)
                summary.append((name + " (FPTT-K)", "MISMATCH"))
    print("selfcheck summary:")
    for n, s in summary:
        print(f"  {s:12} {n}")
    print("selfcheck: " + ("PASS" if worst == 0 else "FAIL"))
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(prog="peer.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
        p.add_argument("--compiled", action="store_true", help="run the step through torch.compile")
        p.add_argument("--compile-mode", default="default", help="torch.compile mode (default, reduce-overhead, ...)")

    p = sub.add_parser("trace", help="SPEC §7 trace of a case")
    p.add_argument("case")
    p.add_argument("--out", required=True)
    common(p)
    p = sub.add_parser("parity", help="compare our TRACE.json with the peer's trace of CASE.json")
    p.add_argument("case")
    p.add_argument("ours")
    common(p)
    p = sub.add_parser("make-cases", help="write the self-check cases into DIR")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=11)
    p = sub.add_parser("selfcheck", help="make cases, run our trace and the peer's, compare")
    p.add_argument("--our", default="node bin/webgpu-snn.js", help='our CLI (default "node bin/webgpu-snn.js")')
    p.add_argument("--dir", help="where to write the cases and traces (default: a new temp dir)")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--compiled-cases", type=int, default=1, help="also check the compiled peer on the first N cases (default 1)")
    common(p)
    p = sub.add_parser("bench", help="time FPTT step / BPTT sequence / inference sequence")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="fewer repeats (and T = 10 on the CPU)")
    p.add_argument("--json", action="store_true", help="JSON lines on stdout, notes on stderr")
    p.add_argument("--modes", default="eager,compiled")
    p.add_argument("--compile-mode", default="auto", help="auto (cuda: default and reduce-overhead, the faster kept), default, reduce-overhead, ...")
    p.add_argument("--nets", default="add,smnist")
    p.add_argument("--T", type=int, default=0, help="BPTT / inference sequence length (default 50)")
    p.add_argument("--add-h", type=int, default=128)
    p.add_argument("--add-b", type=int, default=128)
    p.add_argument("--smnist-h", type=int, default=256)
    p.add_argument("--smnist-b", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        return {"trace": cmd_trace, "parity": cmd_parity, "make-cases": cmd_make_cases, "selfcheck": cmd_selfcheck, "bench": run_bench}[args.cmd](args)
    except CaseError as e:
        print(f"peer.py {args.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
