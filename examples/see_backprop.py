"""Draw and explain backprop for the tutorial's linear regression and a small MLP.

Usage: python examples/see_backprop.py [--out DIR]   (default examples/out/)
Writes SVG and PNG pictures of the graphs (forward values, and under them in red the gradients
d loss / d value), one interactive HTML page per example, and prints the step-by-step
explanation tables (forward pass, local gradients, backward pass).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))

import make_figures as tutorial  # noqa: E402  (the tutorial's functions and parameters)

import minigrad_jax as mg  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)

    args = (1.0, 1.0, 2.0)  # w, x, y
    report = mg.explain_grad(tutorial.loss)(*args)
    print(report)
    print("mg.grad:", float(mg.grad(tutorial.loss)(*args)))
    print("d loss / d y_hat:", float(report.cotangent("y_hat")))
    print("wrote", report.save(out / "linreg.html"))
    drawing = mg.draw(tutorial.loss, backward=True, values=True)(*args)
    for suffix in (".svg", ".png"):
        print("wrote", drawing.save(out / f"linreg{suffix}"))

    params = tutorial.mlp_params()
    report = mg.explain_grad(tutorial.mlp_loss, argnums=(0, 1, 2, 3))(*params)
    print(report)
    print("wrote", report.save(out / "mlp.html"))
    drawing = mg.draw(tutorial.mlp_loss, backward=True, values=True)(*params)
    for suffix in (".svg", ".png"):
        print("wrote", drawing.save(out / f"mlp{suffix}"))


if __name__ == "__main__":
    main(sys.argv[1:])
