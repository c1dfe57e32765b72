"""Tools to test gradients: finite-difference checkers (and, in ``strategies``, Hypothesis
strategies, imported only when asked for)."""
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
