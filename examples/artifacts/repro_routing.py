"""Sandbox reproduction script for SRCH:03BE3A05 (demo artifact): recomputes the throughput table."""

ROUTES = {"top-1": 1.00, "top-2": 0.62, "expert-choice": 0.71}

if __name__ == "__main__":
    for route, tokens_per_flop in sorted(ROUTES.items()):
        print(f"{route:>14}  {tokens_per_flop:.2f}")
