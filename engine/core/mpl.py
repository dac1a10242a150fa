"""matplotlib for report figures, headless and quiet.

Why: the venv's matplotlib sits beside Debian's, whose mpl_toolkits makes every pyplot import warn
"Unable to import Axes3D" although no report uses 3-D axes; that warning reached users on every
fine-tune. The Agg backend keeps figures off any display (QGIS, servers).
"""

import warnings


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        import matplotlib.pyplot as plt
    return plt
