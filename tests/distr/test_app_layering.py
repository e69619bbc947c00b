"""Apps depend in one direction (docs/architecture.md): the check that keeps it so."""

from pathlib import Path

from tests.support.import_graph import LAYERS, cycles, layering_violations

ROOT = Path(__file__).resolve().parents[2]


def test_every_app_imports_only_the_layers_below_it():
    assert layering_violations(ROOT) == []


def test_no_two_apps_import_each_other():
    assert cycles(ROOT) == []


def test_the_layers_cover_every_app():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps - set(LAYERS) == set(), "a new app needs its place in LAYERS and the doc"


def test_a_cycle_added_on_purpose_fails_the_check(tmp_path):
    """The check can fail: copy two apps' imports and make the lower one import back."""
    for app, body in {
        "registry": "from licensing.selectors import pull_check\n",  # the cycle issue 13 removed
        "licensing": "from registry.models import Repository\n",
    }.items():
        (tmp_path / app).mkdir()
        (tmp_path / app / "access.py").write_text(body)
    layers = {"registry": LAYERS["registry"], "licensing": LAYERS["licensing"]}
    assert layering_violations(tmp_path, layers) == [
        "registry/access.py:1: registry imports licensing"
    ]
    assert cycles(tmp_path, tuple(layers)) == [("licensing", "registry")]


def test_an_import_hidden_in_a_function_counts(tmp_path):
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "services.py").write_text(
        "def f():\n    from registry.auth import Principal\n"
    )
    layers = {"customers": LAYERS["customers"], "registry": LAYERS["registry"]}
    assert layering_violations(tmp_path, layers) == [
        "customers/services.py:2: customers imports registry"
    ]
