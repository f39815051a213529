"""Long-double erf/erfc (numeric/special.py) against mpmath."""

import mpmath
import numpy as np
import pytest

from activation_lab.analysis.ulp import split_exact, ulp_error
from activation_lab.numeric.special import erf_ld, erfc_ld

pytestmark = pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="platform has no extended long double")


@pytest.mark.parametrize("fn,ref", [(erfc_ld, mpmath.erfc), (erf_ld, mpmath.erf)])
def test_within_half_ulp_of_double(fn, ref):
    z = np.concatenate([np.linspace(-6, 27, 6001), [1.5, np.nextafter(1.5, 0), 1e-300, -1e-300, 5e-324]])
    with mpmath.workprec(150):
        exact = [ref(mpmath.mpf(float(v))) for v in z]
    hi, lo = split_exact(exact)
    err = ulp_error(fn(z).astype(np.float64), hi, lo, "float64")
    normal = np.abs(hi) >= np.finfo(np.float64).tiny
    assert err[normal].max() <= 0.55
    assert err.max() <= 1.0   # subnormal results: measured against the rounded reference


def test_special_arguments():
    assert list(erfc_ld(np.array([np.inf, -np.inf, 0.0]))) == [0.0, 2.0, 1.0]
    assert list(erf_ld(np.array([np.inf, -np.inf]))) == [1.0, -1.0]
    assert np.signbit(erf_ld(np.array([-0.0]))[0])
    assert np.isnan(erfc_ld(np.array([np.nan]))[0]) and np.isnan(erf_ld(np.array([np.nan]))[0])
