"""The frozen foundation encoders: the model, its pretraining, and embeddings of a whole stack (cached).

Imports core and data; nothing here knows about deposits.
"""
