"""Shared pytest configuration and fixtures.

No environment variables are set here: nbval's kernels inherit this process's
environment, and e.g. MPLBACKEND=Agg would silence every inline figure.
"""
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab or a slide deck in headless Chromium")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium per test process (Playwright), shared by the browser tests."""
    import browser_support as bs

    assert bs.have_playwright(), "python playwright is missing: tools/course test installs the dev extras"
    assert bs.chromium_path(), "chromium is not on PATH: tools/course test installs Debian's chromium"
    b = bs.acquire_browser()
    try:
        yield b
    finally:
        bs.release_browser()
