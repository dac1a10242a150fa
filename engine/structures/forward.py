"""GeoSAM's forward pass on batched prompts, shared by training and held-out evaluation.

Why a module of its own: training (engine.structures.train) evaluates the model it has just fitted,
and evaluation (engine.structures.evaluate) runs prompts the way training does; with these pieces in
train.py the two imported each other.
"""

import numpy as np

# Synthetic scene seeds: training draws from [0, EVAL_SEED0); evaluation only from EVAL_SEED0 on.
EVAL_SEED0 = 1_000_000
MASK_THRESHOLD = 0.0


def embed_prompts(pe, coords, labels):
    """Sparse prompt tokens for (B, N, 2) SAM coordinates and (B, N) labels.

    Labels as in SAM's ONNX model: 1 include, 0 exclude, 2 / 3 box corners, -1 padding; the same
    arithmetic as PromptEncoder._embed_points / _embed_boxes, so both the predictor's and the ONNX
    decoder's way of passing a box give what training saw.
    """
    import torch

    emb = pe.pe_layer.forward_with_coords(coords + 0.5, pe.input_image_size)
    pad = (labels == -1).unsqueeze(-1)
    emb = torch.where(pad, torch.zeros_like(emb), emb) + pad * pe.not_a_point_embed.weight
    for k in range(4):
        emb = emb + (labels == k).unsqueeze(-1) * pe.point_embeddings[k].weight
    return emb


def decode(model, src, sparse, dense):
    """MaskDecoder.predict_masks for prompts that already carry their own image embedding (B, C, h, w)."""
    import torch

    dec = model.mask_decoder
    tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight], dim=0)
    tokens = torch.cat((tokens.unsqueeze(0).expand(sparse.size(0), -1, -1), sparse), dim=1)
    src = src + dense
    pos = model.prompt_encoder.get_dense_pe().expand(src.shape[0], -1, -1, -1)
    b, c, h, w = src.shape
    hs, src = dec.transformer(src, pos, tokens)
    iou_tok, mask_toks = hs[:, 0, :], hs[:, 1:1 + dec.num_mask_tokens, :]
    up = dec.output_upscaling(src.transpose(1, 2).reshape(b, c, h, w))
    hyper = torch.stack([dec.output_hypernetworks_mlps[i](mask_toks[:, i, :]) for i in range(dec.num_mask_tokens)], 1)
    bb, cc, hh, ww = up.shape
    masks = (hyper @ up.view(bb, cc, hh * ww)).view(bb, -1, hh, ww)
    return masks, dec.iou_prediction_head(iou_tok)


def prompt_tensors(prompts, device, extra_pad=0, rng=None):
    """Pad a list of Prompts to (B, N, 2) coords / (B, N) labels in SAM's frame (pixel index = xy - 0.5).

    Each prompt: its points, then its box as corners 2 / 3 or, without a box, one padding point
    (as SamPredictor does), then -1 padding up to the batch's longest.
    """
    import torch

    rows = []
    for p in prompts:
        pts = [np.asarray(p.points, np.float32).reshape(-1, 2)]
        lab = [np.asarray(p.labels, np.float32).reshape(-1)]
        if p.box is not None:
            pts.append(np.asarray(p.box, np.float32).reshape(2, 2))
            lab.append(np.array([2, 3], np.float32))
        else:
            pts.append(np.zeros((1, 2), np.float32))
            lab.append(np.array([-1], np.float32))
        n_pad = int(rng.integers(0, extra_pad + 1)) if (rng is not None and extra_pad) else 0
        if n_pad:
            pts.append(np.zeros((n_pad, 2), np.float32))
            lab.append(-np.ones(n_pad, np.float32))
        pts, lab = np.concatenate(pts), np.concatenate(lab)
        pts = np.where(lab[:, None] >= 0, pts - 0.5, 0.0).astype(np.float32)
        rows.append((pts, lab))
    n = max(len(r[1]) for r in rows)
    coords = np.zeros((len(rows), n, 2), np.float32)
    labels = -np.ones((len(rows), n), np.float32)
    for i, (pts, lab) in enumerate(rows):
        coords[i, :len(lab)], labels[i, :len(lab)] = pts, lab
    return torch.from_numpy(coords).to(device), torch.from_numpy(labels).to(device)


def dense_embeddings(model, mask_logits, n, device):
    pe = model.prompt_encoder
    h, w = pe.image_embedding_size
    if mask_logits is None:
        return pe.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(n, -1, h, w)
    return pe.mask_downscaling(mask_logits)


def normalise_images(model, images):
    return (images - model.pixel_mean) / model.pixel_std
