"""Tools to test gradients of your own ops and models.

* :func:`gradcheck` / :func:`gradgradcheck`: first and second derivatives against finite differences
  (kinks masked, failures diagnosed);
* :func:`check_vjp`: the inner-product test ``<u, J^T v> == <J u, v>``, cheap for large inputs;
* :func:`assert_grads_match`: two implementations (fused vs composed, CPU vs GPU) give the same
  gradients;
* ``tinygrad_rnn.testing.strategies``: Hypothesis strategies for tensors, shapes, indices and layer
  configurations; ``tinygrad_rnn.testing.stateful``: a Hypothesis state machine that builds random
  graphs. Both need Hypothesis and are imported only when asked for.

See docs/testing.md for a walk-through.
"""
from .compare import assert_grads_match
from .gradcheck import (GradcheckError, GradcheckResult, check_vjp, default_tolerances, gradcheck,
                        gradgradcheck)

__all__ = ["GradcheckError", "GradcheckResult", "assert_grads_match", "check_vjp",
           "default_tolerances", "gradcheck", "gradgradcheck"]
