"""The DCT patch embedding of the tiny model (`model.tiny.patch_embedding: dct`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.fft import dctn
from test_tiny_model import tiny_config

from mgiqa.errors import ConfigError
from mgiqa.model.patch_filters import dct_basis, dct_filter_bank, frequencies_by_band


def test_dct_basis_is_scipys_orthonormal_dct():
    rng = np.random.default_rng(0)
    patch = rng.normal(size=(14, 14))
    coefficients = dctn(patch, type=2, norm="ortho")
    for u, v in ((0, 0), (1, 0), (0, 3), (7, 13)):
        assert np.isclose((dct_basis(14, u, v) * patch).sum(), coefficients[u, v])


def test_filters_are_orthogonal_and_cover_the_whole_spectrum():
    weight = dct_filter_bank(128, 14, 2)
    flat = weight.reshape(128, -1)
    gram = flat @ flat.T
    assert np.allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-9)  # no two filters see the same thing
    # luminance filters: equal weight on R, G, B; they reach the patch's highest frequency band
    is_luma = np.isclose(weight[:, 0], weight[:, 1]).all(axis=(1, 2, 3)) & np.isclose(
        weight[:, 1], weight[:, 2]
    ).all(axis=(1, 2, 3))
    assert 0.7 * 128 <= is_luma.sum() < 128  # most filters, and some left for colour
    highest = dct_basis(14, 13, 13)
    responses = [abs((weight[k, 0, 0] * highest).sum()) for k in np.flatnonzero(is_luma)]
    assert max(responses) > 0  # the finest checkerboard is seen (blur and noise live there)
    # colour filters sum to zero over the channels of a grey image: they see casts, not brightness
    grey = np.ones((3, 2, 14, 14))
    assert np.allclose((weight[~is_luma] * grey).sum(axis=(1, 2, 3, 4)), 0.0)


def test_higher_frequencies_get_larger_gains():
    weight = dct_filter_bank(64, 14, 2)
    norms = np.linalg.norm(weight.reshape(64, -1), axis=1)
    assert norms[0] < norms[10] < norms[40]  # the luminance filters are ordered by band


def test_too_many_filters_for_the_patch_are_refused():
    with pytest.raises(ConfigError, match="does not fit"):
        dct_filter_bank(14 * 14 * 3 + 1, 14, 2)
    assert len(frequencies_by_band(14)) == 196


def test_built_model_carries_the_filter_bank(tmp_path):
    from mgiqa.model.loading import load_model
    from mgiqa.model.tiny import build_tiny_model

    config = tiny_config()
    config["model"]["tiny"]["patch_embedding"] = "dct"
    model = load_model(build_tiny_model(tmp_path / "dct", config))
    proj = model.model.visual.patch_embed.proj.weight.detach().numpy()
    assert np.allclose(proj, dct_filter_bank(*proj.shape[:1], proj.shape[3], proj.shape[2]), atol=1e-6)
    config["model"]["tiny"]["patch_embedding"] = "random"
    other = load_model(build_tiny_model(tmp_path / "random", config))
    assert not np.allclose(other.model.visual.patch_embed.proj.weight.detach().numpy(), proj)


def test_unknown_patch_embedding_is_refused():
    from mgiqa.model.tiny import patch_embedding

    config = tiny_config()
    config["model"]["tiny"]["patch_embedding"] = "gabor"
    with pytest.raises(ConfigError, match="patch_embedding"):
        patch_embedding(config)
