"""From the user's layers to one aligned, self-describing stack, and back by windows.

Layer specs, per-kind readers (rasters, polygons, lines, geochemical samples), normalisation, the
deposit labels, alignment (stack) and the windowed reader; seeded synthetic scenes share the Scene
type. Imports core only.
"""
