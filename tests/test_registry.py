"""Registry: unknown names list the known ones and suggest the closest."""
import pytest

from ssvae.registry import Registry, UnknownNameError


def test_registry_lookup_and_errors():
    registry: Registry = Registry("widget")
    registry.register("alpha")(1)
    registry.register("beta")(2)
    assert registry.get("alpha") == 1 and registry.names() == ("alpha", "beta")
    assert "beta" in registry
    with pytest.raises(UnknownNameError, match=r"unknown widget 'alpah'; known: alpha, beta\. Did you mean 'alpha'\?"):
        registry.get("alpah")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("alpha")(3)
