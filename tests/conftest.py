"""Shared pytest configuration.

No environment variables are set here: nbval's kernels inherit this process's
environment, and e.g. MPLBACKEND=Agg would silence every inline figure.
"""


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab or a slide deck in headless Chromium")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
