"""Interactive structure extraction with Segment Anything: click on a map, get a fault, lineament,
contact or intrusion as a vector feature.

The model code is the `segment-anything` package's (prompt encoder, mask decoder, ViT image
encoders); the shipped model pairs its decoder with a light image encoder trained here, and any
official SAM checkpoint the user supplies loads in its place.
"""
