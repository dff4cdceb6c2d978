"""Two-dimensional test functions for pictures of optimizer paths.

Each function ``f`` has ``f(xy)`` (the value), ``f.grad(xy)`` (the gradient),
``f.minimum`` (the smallest value, ``None`` if unbounded below),
``f.minimizer`` (where it is attained) and ``f.bounds`` (a box for plots).
``xy`` has shape ``(2, ...)``: a point ``np.array([x, y])`` or a grid
``np.stack([X, Y])``, so the same code draws contours and runs optimizers.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["TestFunction", "Quadratic", "RotatedQuadratic", "Rosenbrock", "Beale", "Saddle",
           "NoisyQuadratic", "by_name"]


class TestFunction:
    name = "f"
    minimum = 0.0
    minimizer = (0.0, 0.0)
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = (-1.5, 1.5)
    stochastic = False

    def __call__(self, xy):
        return self.value(np.asarray(xy))

    def grad(self, xy):
        return self.gradient(np.asarray(xy))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Quadratic(TestFunction):
    r"""An ill-conditioned quadratic :math:`f(x, y) = \tfrac12(a x^2 + b y^2)`.

    Curvatures ``a`` and ``b`` are the Hessian's eigenvalues; the condition
    number is max/min. Gradient descent diverges for lr > 2/max(a, b) and
    converges at rate ``max |1 - lr * lambda|`` per step. The default
    ``Quadratic()`` is ``0.1 x^2 + 2 y^2`` (a = 0.2, b = 4, condition 20);
    ``Quadratic(condition=100)`` has a = 0.01, b = 1.
    """

    name = "quadratic"
    start = (-1.8, 0.9)

    def __init__(self, a=0.2, b=4.0, *, condition=None):
        if condition is not None:
            if condition < 1:
                raise ValueError(f"condition must be >= 1, got {condition}")
            a, b = 1.0 / condition, 1.0
        if a <= 0 or b <= 0:
            raise ValueError(f"curvatures a and b must be > 0, got a={a}, b={b}")
        self.a, self.b = float(a), float(b)
        self.condition = max(a, b) / min(a, b)

    def value(self, xy):
        return 0.5 * (self.a * xy[0] ** 2 + self.b * xy[1] ** 2)

    def gradient(self, xy):
        return np.array([self.a * xy[0], self.b * xy[1]])

    @property
    def eigenvalues(self):
        return (self.a, self.b)

    def __repr__(self):
        return f"Quadratic(a={self.a:g}, b={self.b:g})"


class RotatedQuadratic(Quadratic):
    r"""The quadratic valley turned by an angle: :math:`f(w) = \tfrac12\, w^\top H w`, :math:`H = R_\theta \operatorname{diag}(a, b) R_\theta^\top`.

    ``theta`` is the angle in **degrees** between the valley's flat axis and
    the :math:`w_1` axis (:math:`R_\theta` turns the plane counter-clockwise).
    ``theta=0`` is :class:`Quadratic`; at 45 degrees the valley runs along the
    diagonal and both coordinates see both curvatures. The start point turns
    with the valley (``start = R_theta @ Quadratic.start``), so an optimizer
    that does not care about the axes (gradient descent, momentum) takes the
    same path, turned, and reaches the same losses at every angle (up to
    rounding); one that scales each coordinate separately (Adagrad, RMSProp,
    Adam) does not.

    The gradient :math:`Hw` is written out elementwise: no matrix product, so
    no BLAS kernel (which differs between CPUs) touches its last bits.
    """

    name = "rotated quadratic"
    bounds = ((-2.2, 2.2), (-2.2, 2.2))

    def __init__(self, a=0.2, b=4.0, theta=0.0, *, condition=None):
        super().__init__(a, b, condition=condition)
        if isinstance(theta, bool) or not isinstance(theta, (int, float, np.integer, np.floating)):
            raise TypeError(f"theta must be an angle in degrees (a real number), got {theta!r}")
        theta = float(theta)
        if not math.isfinite(theta):
            raise ValueError(f"theta must be a finite angle in degrees, got {theta!r}")
        self.theta = theta
        c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
        self.rotation = np.array([[c, -s], [s, c]])
        #: The Hessian H = R diag(a, b) R^T, entry by entry.
        self.h11 = self.a * c * c + self.b * s * s
        self.h22 = self.a * s * s + self.b * c * c
        self.h12 = (self.a - self.b) * c * s
        x0, y0 = Quadratic.start
        self.start = (c * x0 - s * y0, s * x0 + c * y0)

    @property
    def hessian(self):
        return np.array([[self.h11, self.h12], [self.h12, self.h22]])

    @property
    def eigenvectors(self):
        """Columns: the flat direction (curvature ``a``) and the steep one (curvature ``b``)."""
        return self.rotation.copy()

    def value(self, xy):
        x, y = xy[0], xy[1]
        return 0.5 * (self.h11 * x * x + 2.0 * self.h12 * x * y + self.h22 * y * y)

    def gradient(self, xy):
        x, y = xy[0], xy[1]
        return np.array([self.h11 * x + self.h12 * y, self.h12 * x + self.h22 * y])

    def __repr__(self):
        return f"RotatedQuadratic(a={self.a:g}, b={self.b:g}, theta={self.theta:g})"


class Rosenbrock(TestFunction):
    r"""Rosenbrock's banana :math:`(a - x)^2 + b (y - x^2)^2`, minimum 0 at (a, a^2)."""

    name = "rosenbrock"
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    start = (-1.5, 2.0)

    def __init__(self, a=1.0, b=100.0):
        self.a, self.b = float(a), float(b)
        self.minimizer = (self.a, self.a**2)

    def value(self, xy):
        x, y = xy[0], xy[1]
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def gradient(self, xy):
        x, y = xy[0], xy[1]
        r = y - x * x
        return np.array([-2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r])


class Beale(TestFunction):
    r"""Beale's function, minimum 0 at (3, 0.5); flat plateaus and steep walls.

    :math:`(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`
    """

    name = "beale"
    minimizer = (3.0, 0.5)
    bounds = ((-4.5, 4.5), (-4.5, 4.5))
    start = (1.0, 1.5)
    _c = (1.5, 2.25, 2.625)

    def value(self, xy):
        x, y = xy[0], xy[1]
        f = 0.0
        for k, c in enumerate(self._c):          # not sum(): Python >= 3.12 sums floats compensated
            f = f + (c - x + x * y ** (k + 1)) ** 2
        return f

    def gradient(self, xy):
        x, y = xy[0], xy[1]
        gx = gy = 0.0
        for k, c in enumerate(self._c):
            r = c - x + x * y ** (k + 1)
            gx = gx + 2.0 * r * (y ** (k + 1) - 1.0)
            gy = gy + 2.0 * r * (k + 1) * x * y**k
        return np.array([gx, gy])


class Saddle(TestFunction):
    r"""A saddle :math:`\tfrac12(a x^2 - b y^2)`: unbounded below, stationary at 0.

    Started near the ridge (y almost 0) gradient descent lingers; adaptive
    methods scale the tiny y-gradient up and escape sooner.
    """

    name = "saddle"
    minimum = None
    minimizer = None
    stationary_point = (0.0, 0.0)
    start = (-1.8, 1e-3)

    def __init__(self, a=1.0, b=1.0):
        self.a, self.b = float(a), float(b)

    def value(self, xy):
        return 0.5 * (self.a * xy[0] ** 2 - self.b * xy[1] ** 2)

    def gradient(self, xy):
        return np.array([self.a * xy[0], -self.b * xy[1]])


class NoisyQuadratic(Quadratic):
    r"""The quadratic with stochastic gradients :math:`\nabla f + \sigma\,\xi`, :math:`\xi\sim N(0, I)`.

    The noise comes from ``np.random.default_rng(seed)``; :meth:`reset` restarts
    it, so two runs with the same seed see the same gradients. ``value`` is
    the noise-free loss.
    """

    name = "noisy quadratic"
    stochastic = True

    def __init__(self, a=0.2, b=4.0, *, condition=None, sigma=1.0, seed=0):
        super().__init__(a, b, condition=condition)
        self.sigma, self.seed = float(sigma), seed
        self.reset()

    def reset(self):
        self.rng = np.random.default_rng(self.seed)

    def gradient(self, xy):
        g = super().gradient(xy)
        return g + self.sigma * self.rng.standard_normal(g.shape)

    def __repr__(self):
        return f"NoisyQuadratic(a={self.a:g}, b={self.b:g}, sigma={self.sigma:g}, seed={self.seed})"


def by_name(name, **kwargs):
    """``by_name("rosenbrock")`` -> ``Rosenbrock()``."""
    table = {c.name: c for c in (Quadratic, RotatedQuadratic, Rosenbrock, Beale, Saddle, NoisyQuadratic)}
    try:
        return table[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown test function {name!r}; expected one of {sorted(table)}") from None
