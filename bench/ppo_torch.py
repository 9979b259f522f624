"""PyTorch CPU baseline for bench/ppo.mjs (issue 16, "Speed"): one PPO minibatch update's maths.

ElegantRL's ActorPPO and CriticPPO at the shapes capp trains (src/core/train/ppo.ts): actor
Linear(S,H) ReLU Linear(H,H) ReLU Linear(H,A) with a state-independent a_std_log, critic
Linear(S,H) ReLU Linear(H,H) ReLU Linear(H,1); loss = clipped surrogate (clip 0.25) - 0.02 * entropy
+ 0.5 * MSE(value, return); forward + backward of both nets, batch B, one thread.

Usage: /usr/bin/python3 bench/ppo_torch.py S A B H [H ...]
Prints one JSON object per line: first {"torch", "blas", "threads"}, then {"width", "ms"} per width
(median of 5 timed blocks of >= 0.3 s each after >= 0.2 s of warm-up, the timing bench/ppo.mjs uses).
"""

import json
import sys
import time

import torch


def blas_name():
    """Which BLAS library backs torch's CPU matmuls (Debian links the libblas.so.3 alternative)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        import ctypes
        import os

        names = sorted({os.path.realpath(x) for x in libs if x.startswith("/")})
        for lib in names:
            if "libopenblas" in lib:  # which kernels OpenBLAS picked (OPENBLAS_CORETYPE overrides it)
                get = ctypes.CDLL(lib).openblas_get_corename
                get.restype = ctypes.c_char_p
                names[names.index(lib)] = f"{lib} (OpenBLAS core {get().decode()})"
        return ", ".join(names) or "built-in"
    except (OSError, AttributeError):
        return "unknown"


def timed_ms(once):
    t = time.perf_counter()
    n = 0
    while time.perf_counter() - t < 0.2 or n < 3:
        once()
        n += 1
    per = (time.perf_counter() - t) / n
    reps = max(1, int(0.3 / per) + 1)
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            once()
        ts.append((time.perf_counter() - t) / reps * 1000)
    ts.sort()
    return ts[2]


def bench(S, A, B, H):
    torch.manual_seed(3)
    nn = torch.nn
    actor = nn.Sequential(nn.Linear(S, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, A))
    a_std_log = nn.Parameter(torch.full((1, A), -0.5))
    critic = nn.Sequential(nn.Linear(S, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, 1))
    params = list(actor.parameters()) + [a_std_log] + list(critic.parameters())
    s = torch.rand(B, S) * 2 - 1
    a = torch.randn(B, A)
    old = torch.full((B,), -7.0)
    adv = torch.randn(B)
    ret = torch.randn(B)

    def once():
        for p in params:
            p.grad = None
        mu = actor(s)
        d = torch.distributions.Normal(mu, a_std_log.exp())
        r = (d.log_prob(a).sum(1) - old).exp()
        surr = -torch.min(r * adv, r.clamp(0.75, 1.25) * adv).mean()
        loss = surr - 0.02 * d.entropy().sum(1).mean()
        v = 0.5 * ((critic(s).squeeze(1) - ret) ** 2).mean()
        (loss + v).backward()

    return timed_ms(once)


def main():
    S, A, B = (int(x) for x in sys.argv[1:4])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    print(json.dumps({"torch": torch.__version__, "blas": blas_name(), "threads": torch.get_num_threads()}), flush=True)
    for H in (int(x) for x in sys.argv[4:]):
        print(json.dumps({"width": H, "ms": bench(S, A, B, H)}), flush=True)


if __name__ == "__main__":
    main()
