"""What every layer stands on: actionable errors, progress and cancel, atomic writes, tiles, the grid.

Nothing here imports another engine folder; everything else may import from here.
"""
