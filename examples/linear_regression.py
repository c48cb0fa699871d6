"""The backpropagation tutorial's linear regression, with minigrad_jax.

One training sample x=1.0, y=2.0 and one weight w=1.0; the model is
y_hat = w * x and the loss (y_hat - y)**2. The PyTorch version is

    w = torch.tensor(1.0, requires_grad=True)
    loss = (w * x - y) ** 2          # forward pass: tensor(1.)
    loss.backward(); print(w.grad)   # backward pass: tensor(-2.)

Here the same steps are function transforms: ``mg.jvp`` (forward mode),
``mg.grad`` (reverse mode: linearize, then transpose), and the jaxprs they
build are printed on the way. Then gradient descent w <- w - lr * dloss/dw
runs until the loss is below 1e-6.

Run:  python examples/linear_regression.py [--steps N] [--lr LR]
"""

from __future__ import annotations

import argparse

import minigrad_jax as mg

X, Y, W0 = 1.0, 2.0, 1.0


def loss_fn(w, x, y):
    y_hat = w * x  # forward pass: the model
    return (y_hat - y) ** 2  # the squared error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="most update steps to run")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    args = parser.parse_args(argv)

    print("== forward pass ==")
    loss = loss_fn(W0, X, Y)
    print(f"loss = {float(loss)}")
    print("jaxpr of the loss (mg.make_jaxpr):")
    print(mg.make_jaxpr(loss_fn)(W0, X, Y))

    print("\n== derivative by forward mode (mg.jvp, tangent dw = 1) ==")
    _, dloss = mg.jvp(lambda w: loss_fn(w, X, Y), (W0,), (1.0,))
    print(f"jvp dloss/dw = {float(dloss)}")
    print("jaxpr of the jvp (primal and tangent equations interleaved):")
    jvp_of_loss = lambda w, dw: mg.jvp(lambda w: loss_fn(w, X, Y), (w,), (dw,))  # noqa: E731
    print(mg.make_jaxpr(jvp_of_loss)(W0, 1.0))

    print("\n== derivative by reverse mode (mg.grad; PyTorch: loss.backward(); w.grad) ==")
    g = mg.grad(loss_fn)(W0, X, Y)
    print(f"grad dloss/dw = {float(g)}")
    _, f_jvp = mg.linearize(lambda w: loss_fn(w, X, Y), W0)
    print("linearized jaxpr (mg.linearize(...)[1].jaxpr; its constant is the residual):")
    print(f_jvp.jaxpr)
    print(f"its constant (the residual, 2 * (w*x - y)): {[float(c) for c in f_jvp.jaxpr.consts]}")
    print("jaxpr of the gradient (mg.make_jaxpr(mg.grad(loss_fn))):")
    print(mg.make_jaxpr(mg.grad(loss_fn))(W0, X, Y))

    print(f"\n== gradient descent, lr = {args.lr} ==")
    w = W0
    loss_and_grad = mg.value_and_grad(loss_fn)
    for step in range(args.steps):
        loss, g = loss_and_grad(w, X, Y)
        print(
            f"step {step:3d}: w = {float(w):.6g}  loss = {float(loss):.6g}  "
            f"dloss/dw = {float(g):.6g}"
        )
        if loss < 1e-6:
            break
        w = w - args.lr * g
    print(f"final w = {float(w):.6g} (the exact answer is y / x = {Y / X})")
    return w


if __name__ == "__main__":
    main()
