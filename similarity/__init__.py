"""CLIP similarity library: encoders, collections, the embedding store, search,
maps and clusters. Importable and testable without Streamlit; each module has
one job (see the README's architecture section). Submodules are imported
directly (``from similarity.search import top_k``) so that light ones do not
pull in torch.
"""
