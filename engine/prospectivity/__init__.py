"""Deposits to a prospectivity map: samples and folds, the head, its all-cell cross-validation,
validation figures, fine-tune and predict (workflow), and targets drawn from the map.

`finetune` and `predict` are served from here (loaded on first use, so importing a sibling module
such as `engine.prospectivity.head` stays light).
"""

_WORKFLOW = ("finetune", "predict")


def __getattr__(name):
    if name in _WORKFLOW:
        from . import workflow

        return getattr(workflow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
