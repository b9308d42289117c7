"""The array-API backend and the estimators' namespace dispatch (issue 12).

Everything runs on array-api-strict's simulated device ``Device("device1")``, which refuses any
conversion to NumPy: a silent host copy of X (or of y, the weights, the logits) fails these
tests. The reference is the NumPy fit of the same estimator (itself checked against
scikit-learn in test_estimator_parity.py) and the NumPy reference design.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose

from softlogit import LogisticRegression, SoftmaxRegression
from softlogit.estimators import ConvergenceWarning
from softlogit.losses import BinaryCrossEntropy, MultinomialCrossEntropy
from softlogit.objective import LinearObjective

xs = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

from softlogit.backends.xp import ArrayAPIDesign  # noqa: E402
from softlogit.backends.xp import losses as XL  # noqa: E402
from softlogit.backends.xp.transfer import to_host  # noqa: E402

DEV = xs.Device("device1")
CPU = xs.Device("CPU_DEVICE")


def dev(a, dtype=None):
    return xs.asarray(np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype), device=DEV)


def dispatch():
    return sklearn.config_context(array_api_dispatch=True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(12)
    m, p = 240, 5
    X = rng.normal(size=(m, p)) * [1.0, 2.0, 0.5, 1.0, 3.0] + [0.0, 1.0, 0.0, -1.0, 0.0]
    yb = (X @ [1.0, -0.5, 0.3, 0.0, 0.2] + rng.normal(size=m) > 0).astype(np.int64)
    yk = np.argmax(X[:, :3] + rng.normal(size=(m, 3)), axis=1)
    s = rng.uniform(0.2, 2.0, size=m)
    return X, yb, yk, s


def test_strict_device_refuses_numpy_conversion(data):
    # What the whole file relies on: a host copy of a device1 array is an error.
    with pytest.raises(RuntimeError):
        np.asarray(dev(data[0]))


# --- the design against the NumPy reference design ---------------------------------------------


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_design_matches_reference(data, loss, fit_intercept, dtype):
    X, yb, yk, s = data
    y = yb.astype(float) if loss == "binary" else yk
    kw = dict(loss=loss, fit_intercept=fit_intercept, C=0.7, n_classes=None if loss == "binary"
              else 3)
    Xd = X.astype(dtype)
    ref = LinearObjective(Xd, y, sample_weight=s, backend="reference", **kw)
    design = ArrayAPIDesign(dev(Xd))
    obj = LinearObjective(design, dev(y), sample_weight=dev(s), **kw)
    assert obj.dtype == dtype and obj.n_params == ref.n_params
    rng = np.random.default_rng(1)
    theta, v = rng.normal(size=(2, ref.n_params))
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    f, g = obj.loss_gradient(theta)
    f0, g0 = ref.loss_gradient(theta)
    assert g.dtype == dtype
    assert_allclose(f, f0, rtol=rtol)
    assert_allclose(g, g0, rtol=rtol, atol=rtol * np.abs(g0).max())
    assert_allclose(obj.loss(theta), ref.loss(theta), rtol=rtol)
    hv, hv0 = obj.hessian_product(theta, v), ref.hessian_product(theta, v)
    assert_allclose(hv, hv0, rtol=rtol, atol=rtol * np.abs(hv0).max())
    H, H0 = obj.hessian(theta), ref.hessian(theta)
    assert_allclose(H, H0, rtol=rtol, atol=rtol * np.abs(H0).max())
    # Passes: loss+gradient 2, loss 1, Hessian product 1 (factors) + 2, Hessian 1 + k(k+1)/2.
    k = ref.n_logits
    assert design.passes == 2 + 1 + 3 + 1 + k * (k + 1) // 2


def test_design_products_and_take(data):
    X = data[0]
    design = ArrayAPIDesign(dev(X))
    W = np.arange(10.0).reshape(2, 5) / 10
    Z = design.dot(W)
    assert Z.device == DEV
    R = np.random.default_rng(2).normal(size=(X.shape[0], 2))
    d = R[:, 0] ** 2
    assert_allclose(to_host(Z), X @ W.T, rtol=1e-12)
    assert_allclose(design.tdot(dev(R)), R.T @ X, rtol=1e-12)
    assert_allclose(design.gram(dev(d)), X.T @ (X * d[:, None]), rtol=1e-12)
    assert_allclose(design.wsum_rows(dev(d)), X.T @ d, rtol=1e-12)
    mean, std = design.column_scale()
    assert_allclose(mean, X.mean(axis=0))
    assert_allclose(std, X.std(axis=0))
    assert design.passes == 5
    sub = design.take(np.arange(0, X.shape[0], 4))
    sub.dot(W)
    assert sub.shape == (60, 5) and design.passes == pytest.approx(5.25)


# --- the loss pieces: the formulas of softlogit.losses on the device ---------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_pieces_match_numpy_losses_at_extreme_logits(dtype):
    big = np.finfo(dtype).max / 4
    z = np.array([-big, -1e4, -40.0, -1.0, 0.0, 1e-8, 1.0, 40.0, 1e4, big], dtype=dtype)
    y = np.array([1, 0, 1, 1, 0, 1, 0, 1, 0, 0], dtype=dtype)
    loss, grad = XL.binary_loss_gradient(xs, dev(z), dev(y))
    loss0, grad0 = BinaryCrossEntropy().loss_gradient(z, y)
    assert_allclose(to_host(loss), loss0, rtol=1e-6)
    assert_allclose(to_host(grad), grad0)
    assert_allclose(to_host(XL.binary_hessian_factors(xs, dev(z))),
                    BinaryCrossEntropy().hessian_factors(z), rtol=1e-6)
    Z = np.stack([z, -z, np.zeros_like(z)], axis=1)
    k = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 1])
    Y = np.eye(3, dtype=dtype)[k]
    lossk, gradk = XL.multinomial_loss_gradient(xs, dev(Z), dev(Y))
    lossk0, gradk0 = MultinomialCrossEntropy().loss_gradient(Z, k)
    assert np.all(np.isfinite(to_host(lossk))) and np.all(np.isfinite(to_host(gradk)))
    assert_allclose(to_host(lossk), lossk0, rtol=1e-6)
    assert_allclose(to_host(gradk), gradk0, rtol=1e-6, atol=1e-30)
    assert_allclose(to_host(XL.log_softmax(xs, dev(Z))), MultinomialCrossEntropy()
                    .predict_log_proba(Z), rtol=1e-6)


# --- the estimators on the device ---------------------------------------------------------------

CASES = [
    (LogisticRegression, "yb", {}),
    (LogisticRegression, "yb", {"penalty": None, "solver": "lbfgs"}),
    (LogisticRegression, "yb", {"class_weight": "balanced", "fit_intercept": False}),
    (LogisticRegression, "yb", {"penalty": "l1", "C": 0.2}),
    (SoftmaxRegression, "yk", {"solver": "newton"}),
    (SoftmaxRegression, "yk", {"class_weight": {3: 2.0, 5: 0.5}, "solver": "lbfgs"}),
    (LogisticRegression, "yb", {"penalty": "elasticnet", "l1_ratio": 0.5, "solver": "proximal",
                                "tol": 1e-11}),
    (LogisticRegression, "yk", {"penalty": "elasticnet", "l1_ratio": 0.5, "C": 0.5}),
    (SoftmaxRegression, "yk", {"penalty": None, "solver": "lbfgs"}),
    (SoftmaxRegression, "soft", {"class_weight": "balanced"}),
    (LogisticRegression, "yb", {"solver": "sgd", "random_state": 0, "tol": 1e-3,
                                "max_iter": 30, "class_weight": {4: 2.0}}),
]


@pytest.mark.parametrize("Est, target, params", CASES)
def test_device_fit_equals_numpy_fit(data, Est, target, params):
    X, yb, yk, s = data
    if target == "soft":  # probability rows (soft targets): classes_ = arange(K)
        y = np.random.default_rng(3).dirichlet([1.0, 2.0, 1.0], size=X.shape[0])
    else:
        y = {"yb": yb, "yk": yk}[target] + 3  # labels that are not 0..K-1
    kw = {"tol": 1e-8, "max_iter": 5000, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # sgd stops at max_iter: both alike
        ref = Est(**kw).fit(X, y, sample_weight=s)
        with dispatch():
            est = Est(**kw).fit(dev(X), dev(y), sample_weight=dev(s))
    with dispatch():
        proba, pred = est.predict_proba(dev(X)), est.predict(dev(X))
        logp, dec = est.predict_log_proba(dev(X)), est.decision_function(dev(X))
        # scikit-learn's accuracy takes labels, not probability rows
        score = est.score(dev(X), dev(y), sample_weight=dev(s)) if target != "soft" else None
    for name in ("coef_", "intercept_", "classes_"):
        attr = getattr(est, name)
        assert attr.device == DEV, name
        assert_allclose(to_host(attr), getattr(ref, name), rtol=1e-8, atol=1e-8, err_msg=name)
    assert est.coef_.dtype == xs.float64 and est.n_features_in_ == X.shape[1]
    for got, want in [(proba, ref.predict_proba(X)), (logp, ref.predict_log_proba(X)),
                      (dec, ref.decision_function(X)), (pred, ref.predict(X))]:
        assert got.device == DEV
        assert_allclose(to_host(got), want, rtol=1e-7, atol=1e-8)
    if target != "soft":
        assert float(score) == pytest.approx(ref.score(X, y, sample_weight=s))
    assert est.fit_report_.converged == ref.fit_report_.converged
    assert est.fit_report_.converged or params.get("solver") == "sgd"
    assert est.fit_report_.info["passes"] > 0


@pytest.mark.parametrize("Est, target", [(LogisticRegression, "yb"), (SoftmaxRegression, "yk")])
def test_partial_fit_and_objective_for_on_device_equal_numpy(data, Est, target):
    X, yb, yk, s = data
    y = {"yb": yb, "yk": yk}[target] + 3
    classes = np.unique(y)
    kw = dict(random_state=0, class_weight={int(classes[0]): 2.0}, C=0.5)
    ref, est = Est(**kw), Est(**kw)
    for rows in (slice(0, 100), slice(100, 240)):
        ref.partial_fit(X[rows], y[rows], classes=classes, sample_weight=s[rows])
        with dispatch():
            est.partial_fit(dev(X[rows]), dev(y[rows]), classes=classes,
                            sample_weight=dev(s[rows]))
    for name in ("coef_", "intercept_", "classes_", "n_iter_"):
        assert getattr(est, name).device == DEV, name
        assert_allclose(to_host(getattr(est, name)), getattr(ref, name), rtol=1e-10,
                        atol=1e-12, err_msg=name)
    assert est.fit_report_.info["n_seen"] == pytest.approx(ref.fit_report_.info["n_seen"])
    # objective_for: the fitted objective on the device, equal to NumPy's at any point.
    with dispatch():
        obj = est.objective_for(dev(X), dev(y), sample_weight=dev(s))
    obj0 = ref.objective_for(X, y, sample_weight=s)
    assert obj.design.kind == "array-api:array_api_strict"
    theta = obj0.pack(ref.coef_, ref.intercept_) + 0.1
    f, g = obj.loss_gradient(theta)
    f0, g0 = obj0.loss_gradient(theta)
    assert f == pytest.approx(f0, rel=1e-12)
    assert_allclose(g, g0, rtol=1e-10, atol=1e-14)
    with dispatch(), pytest.raises(ValueError, match="label"):
        est.partial_fit(dev(X[:3]), dev([3, 4, 99]))


def test_objective_for_a_device_fit_has_zero_gradient_and_inference_on_host(data):
    X, yb, _, s = data
    with dispatch():
        est = LogisticRegression(penalty=None, tol=1e-10).fit(dev(X), dev(yb),
                                                              sample_weight=dev(s))
        obj = est.objective_for(dev(X), dev(yb), sample_weight=dev(s))
    theta = obj.pack(to_host(est.coef_), to_host(est.intercept_))
    assert np.linalg.norm(obj.gradient(theta)) < 1e-8
    # inference on host copies of a model fitted on the device (its arrays stay there)
    res = est.inference(X, yb, sample_weight=s)
    res0 = LogisticRegression(penalty=None, tol=1e-10).fit(X, yb, sample_weight=s).inference(
        X, yb, sample_weight=s)
    assert_allclose(res.bse, res0.bse, rtol=1e-7)
    assert est.coef_.device == DEV


def test_balanced_class_weights_need_every_class_on_host_and_device(data):
    # objective_for with the fitted classes on rows where one class is absent: both paths refuse
    X, _, yk, _ = data
    rows = yk != 2
    host = SoftmaxRegression(class_weight="balanced").fit(X, yk)
    with pytest.raises(ValueError, match=r"needs samples of every class; \[2\] have none"):
        host.objective_for(X[rows], yk[rows])
    with dispatch():
        est = SoftmaxRegression(class_weight="balanced").fit(dev(X), dev(yk))
        with pytest.raises(ValueError, match=r"needs samples of every class; \[2\] have none"):
            est.objective_for(dev(X[rows]), dev(yk[rows]))


def test_a_failed_device_fit_leaves_the_fitted_arrays_where_they_were(data):
    X, yb, _, _ = data

    def stop(state):
        raise RuntimeError("stopped")

    host = LogisticRegression().fit(X, yb)
    with dispatch():
        device = LogisticRegression().fit(dev(X), dev(yb))
        for est in (host, device):
            est.set_params(callback=stop)
            with pytest.raises(RuntimeError, match="stopped"):
                est.fit(dev(X), dev(yb))
    assert isinstance(host.coef_, np.ndarray) and isinstance(host.classes_, np.ndarray)
    assert device.coef_.device == DEV and device.n_iter_.device == DEV


def test_warm_start_on_device_continues_from_the_device_fit(data):
    X, _, yk, s = data
    kw = dict(warm_start=True, solver="lbfgs", tol=1e-8, max_iter=500)
    with dispatch():
        est = SoftmaxRegression(**kw).fit(dev(X), dev(yk), sample_weight=dev(s))
        first = to_host(est.coef_)
        est.set_params(C=0.3, max_iter=0)
        with pytest.warns(ConvergenceWarning):  # no iteration: the start point comes back
            est.fit(dev(X), dev(yk), sample_weight=dev(s))
        assert_allclose(to_host(est.coef_), first, rtol=1e-12)
        est.set_params(max_iter=500).fit(dev(X), dev(yk), sample_weight=dev(s))
    ref = SoftmaxRegression(**dict(kw, C=0.3)).fit(X, yk, sample_weight=s)
    assert est.coef_.device == DEV
    assert_allclose(to_host(est.coef_), ref.coef_, rtol=1e-6, atol=1e-7)
    assert_allclose(to_host(est.coef_).sum(axis=0), 0.0, atol=1e-12)  # the Σₖ Wₖ = 0 convention


def test_take_samples_keeps_rows_on_the_device_and_charges_passes(data):
    X, yb, _, s = data
    design = ArrayAPIDesign(dev(X))
    rows = np.array([5, 0, 17])
    sub, y, w = design.take_samples(rows, dev(yb), dev(s))
    assert y.device == DEV and w.device == DEV
    assert_allclose(to_host(y), yb[rows])
    assert_allclose(to_host(w), s[rows])
    sub.dot(np.ones((1, X.shape[1])))
    assert design.passes == pytest.approx(3 / X.shape[0])


def test_float32_stays_float32_and_reaches_float32_optimum(data):
    X, yb, yk, s = data
    ref64 = SoftmaxRegression(tol=1e-12, max_iter=500).fit(X, yk, sample_weight=s)
    ref32 = SoftmaxRegression(tol=1e-6, max_iter=500).fit(X.astype(np.float32), yk,
                                                          sample_weight=s)
    with dispatch():
        est = SoftmaxRegression(tol=1e-6, max_iter=500).fit(dev(X, np.float32), dev(yk),
                                                            sample_weight=dev(s, np.float32))
        proba = est.predict_proba(dev(X, np.float32))
    assert est.coef_.dtype == xs.float32 and proba.dtype == xs.float32
    coef = to_host(est.coef_)
    # The float32 fit: as the NumPy float32 fit, and at the float64 optimum to float32 precision.
    assert_allclose(coef, ref32.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(coef, ref64.coef_, rtol=1e-4, atol=1e-4)


def test_separable_data_refit_on_device():
    X = np.array([[-2.0, 1.0], [-1.0, 0.5], [-0.5, 2.0], [0.5, 1.0], [1.0, 0.0], [2.0, 1.5]])
    y = np.array([0, 0, 0, 1, 1, 1])
    with pytest.warns(Warning):
        ref = LogisticRegression(penalty=None).fit(X, y)
    with dispatch(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = LogisticRegression(penalty=None).fit(dev(X), dev(y))
    assert any("separable" in str(w.message) for w in caught)
    assert est.fit_report_.info["separable"]
    assert_allclose(to_host(est.coef_), ref.coef_, rtol=1e-6)


def test_bad_input_on_device_is_one_clear_sentence(data):
    X, yb, _, s = data
    Xbad = X.copy()
    Xbad[3, 1] = np.nan
    with dispatch():
        with pytest.raises(ValueError, match="1 NaN or infinite"):
            LogisticRegression().fit(dev(Xbad), dev(yb))
        with pytest.raises(ValueError, match="at least 2 classes"):
            LogisticRegression().fit(dev(X), dev(np.zeros_like(yb)))
        with pytest.raises(ValueError, match="non-negative"):
            LogisticRegression().fit(dev(X), dev(yb), sample_weight=dev(-s))
        with pytest.raises(ValueError, match="continuous"):
            LogisticRegression().fit(dev(X), dev(yb + 0.5))
        est = LogisticRegression().fit(dev(X), dev(yb))
        with pytest.raises(ValueError, match="5 features"):
            est.predict(dev(X[:, :3]))
        with pytest.raises(ValueError, match="penalty='firth' is fitted on the host"):
            LogisticRegression(penalty="firth").fit(dev(X), dev(yb))
        with pytest.raises(ValueError, match="inference reads X on the host"):
            est.inference(dev(X), dev(yb))
        with pytest.raises(ValueError, match=r"1 label\(s\) not in classes=\[0, 1\]: 7"):
            est.objective_for(dev(X[:4]), dev([0, 1, 7, 1]))
    with pytest.raises(ValueError, match="same namespace and the same device"):
        est.predict(X)
    with dispatch(), pytest.raises(ValueError, match="same namespace"):
        LogisticRegression().fit(X, yb).predict_proba(dev(X))


def test_without_dispatch_device_arrays_are_refused_cpu_arrays_converted(data):
    X, yb, _, _ = data
    with pytest.raises(TypeError, match="array_api_dispatch=True"):
        LogisticRegression().fit(dev(X), dev(yb))
    # On its CPU device an array-api-strict array converts to NumPy, as in scikit-learn.
    est = LogisticRegression().fit(xs.asarray(X, device=CPU), yb)
    assert isinstance(est.coef_, np.ndarray)
    assert_allclose(est.coef_, LogisticRegression().fit(X, yb).coef_)


def test_numpy_fit_imports_no_array_library():
    code = ("import sys; import numpy as np; from softlogit import LogisticRegression;"
            "X = np.random.default_rng(0).normal(size=(50, 3)); y = (X[:, 0] > 0).astype(int);"
            "LogisticRegression().fit(X, y).predict(X);"
            "bad = [m for m in ('array_api_compat', 'array_api_strict', 'torch', 'cupy') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- PyTorch (CPU here, CUDA where a GPU is): only where torch is installed ---------------------


@pytest.mark.parametrize("Est, target", [(LogisticRegression, "yb"), (SoftmaxRegression, "yk")])
def test_torch_tensors(data, Est, target):
    torch = pytest.importorskip("torch")
    X, yb, yk, s = data
    y = {"yb": yb, "yk": yk}[target]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    ref = Est(tol=1e-10).fit(X, y, sample_weight=s)
    with dispatch():
        Xt = torch.asarray(X, device=device)
        est = Est(tol=1e-10).fit(Xt, torch.asarray(y, device=device),
                                 sample_weight=torch.asarray(s, device=device))
        proba = est.predict_proba(Xt)
    assert isinstance(est.coef_, torch.Tensor) and est.coef_.device.type == device
    assert isinstance(proba, torch.Tensor) and proba.device.type == device
    assert_allclose(est.coef_.cpu().numpy(), ref.coef_, rtol=1e-8, atol=1e-8)
    assert_allclose(proba.cpu().numpy(), ref.predict_proba(X), rtol=1e-7, atol=1e-9)
