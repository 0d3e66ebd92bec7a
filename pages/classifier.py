"""Classifier page: which model answers, uploads tagged, evaluation per attribute, the catalogue check."""
from __future__ import annotations

import logging

import streamlit as st

from core import admission, classifier, figures, pca, uploads
from core.subsample import Subsample
from ui import progress, state, thumbs
from ui.text import plain

logger = logging.getLogger(__name__)
settings = state.current()
sub = settings.sub
dataset = sub.dataset

st.title("Classifier")
st.caption(plain(f"Tags from a product photo: {', '.join(sub.label_columns)}, one model with one "
                 "head per attribute, reading the catalogue's own photos at 80x60 in colour."))
if dataset.catalogue.kind == "kaggle":
    st.caption("The notebook's CNN (400x400 input, 48 million parameters) took 75 minutes for 10 "
               "epochs and reached 46.6% on masterCategory alone, below always answering "
               "\"Apparel\".")
if dataset.is_demo:
    st.warning("Demo set: the model is trained on synthetic images, so its answers about real "
               "photos mean little.", icon=":material/science:")

# ----------------------------------------------------------------------------
# Which model answers
# ----------------------------------------------------------------------------
SCOPES = {"subsample": f"the sidebar's subsample ({sub.fraction:.0%})", "all": "everything (100%)"}
full = Subsample(dataset, fraction=1.0, seed=sub.seed)
# Uploads deserve the best model this server has: the one trained on everything, when it exists.
best_scope = "all" if classifier.is_trained(full, "default") else "subsample"
left, right = st.columns(2)
scope = left.radio("Train on", list(SCOPES), format_func=SCOPES.get, horizontal=True,
                   index=list(SCOPES).index(best_scope), key="clf_scope", bind="query-params",
                   help="The notebook's 80/20 split (random_state=42) of these rows; 10% of the "
                        "training part is held out for early stopping and calibration.")
preset = right.radio("Model", classifier.MODELS, horizontal=True, key="clf_model",
                     bind="query-params",
                     format_func={"default": "default (80x60 colour CNN)",
                                  "seed": "the notebook's (400x400, slow)"}.get,
                     help="'seed' is the notebook's model layer for layer, kept for comparison.")
train_sub = sub if scope == "subsample" else full
may_train = classifier.training_allowed()
trained = classifier.is_trained(train_sub, preset)
# Without a model on these settings, uploads are answered by the largest one the
# server has rather than waiting for (or being refused) a new training.
fallback = None if trained else classifier.best_trained(dataset, state.FRACTIONS, preset,
                                                        subsample_seed=sub.seed)
answer_sub = train_sub if fallback is None else fallback


def _train() -> dict:
    with progress.task(f"Training the {preset} model on {SCOPES[scope]}", keep=True) as cb:
        return classifier.train(train_sub, preset, progress=cb)


info = classifier.train(train_sub, preset) if trained else None
if info is None:
    if preset == "seed":
        cost = "over an hour: the notebook's model is large and slow"
    else:
        # measured on 2 cores: about 3 minutes for 4,208 products, 25 to 34 for 42,072
        # (14 epochs, the catalogue check and the embedding included)
        minutes = round(len(train_sub.ids) / 1500)
        cost = ("about a minute" if minutes <= 1 else f"about {minutes} minutes") + " on 2 CPU cores"
    if fallback is not None:
        other = classifier.train(fallback, preset)
        st.info(f"No {preset} model is trained on {SCOPES[scope]} yet: uploads are answered by the "
                f"one trained on {fallback.fraction:.0%} of the catalogue "
                f"({other['n_fit'] + other['n_tune']:,} training images, validation accuracy "
                f"{other['val_accuracy']:.1%})."
                + (f" Training on {SCOPES[scope]} takes {cost}." if may_train else ""),
                icon=":material/model_training:")
        if may_train and st.button("Train now", type="primary", icon=":material/play_arrow:"):
            info = _train()
    elif may_train:
        st.info(f"No {preset} model is trained on {SCOPES[scope]} yet. Training takes {cost}; "
                "uploads below train it first if needed.", icon=":material/model_training:")
        if st.button("Train now", type="primary", icon=":material/play_arrow:"):
            info = _train()
    else:
        st.info(f"No {preset} model is trained on {SCOPES[scope]} yet, and this server does not let "
                f"visitors start a training ({classifier.ALLOW_TRAINING_ENV}=0). An operator can "
                f"train one with `python -m core train --fraction {train_sub.fraction:g} --model "
                f"{preset}`.", icon=":material/model_training:")
else:
    st.success(f"Uploads are answered by the **{preset}** model trained on {SCOPES[scope]} "
               f"({info['n_fit'] + info['n_tune']:,} training images, validation accuracy "
               f"**{info['val_accuracy']:.1%}**).", icon=":material/check_circle:")

# ----------------------------------------------------------------------------
# Uploads
# ----------------------------------------------------------------------------
st.header("Classify a photo")
files = st.file_uploader(
    "Product photos", type=list(uploads.EXTENSIONS), accept_multiple_files=True,
    key="clf_uploads",
    help=f"JPEG, PNG, WebP or GIF, any size, up to {uploads.MAX_FILE_BYTES // 2**20} MB each and "
         f"{uploads.MAX_FILES} files at a time.")


def _show_upload(f, r: dict) -> None:
    # The name is the uploader's text: shown as typed, never as Markdown, which
    # would turn a name like "[x](http://...)" into a link.
    st.text(f.name)
    if "error" in r:
        st.error("This file cannot be classified:", icon=":material/error:")
        st.text(r["error"])
        return
    a, b, c = st.columns([1, 3, 3])
    # The model's input, not the raw upload: small whatever was sent, and
    # exactly what was classified.
    a.image(r["input"], width=120, caption="as the model sees it")
    b.markdown(f"**{plain(r['label'])}** ({r['confidence']:.0%})")
    for label, p in r["top"]:
        b.progress(float(p), text=f"{plain(label)}: {p:.1%}")
    if r.get("warning"):
        b.warning(r["warning"], icon=":material/warning:")
    with c:
        st.markdown("Most similar products (nearest in the model's embedding)")
        near = r["neighbors"][:6]
        cols = st.columns(len(near) or 1)
        for col, n in zip(cols, near):
            path = thumbs.thumb_path(answer_sub.dataset, n["id"])
            if path.is_file():
                col.image(str(path), caption=f"{plain(n['category'])} ({n['distance']:.2f})", width=70)
    tags = r.get("tags", {})
    if len(tags) > 1:
        # catalogue values are other people's text: plain() shows them literally
        lines = [f"- {plain(column)}: **{plain(t['label'])}** ({t['confidence']:.0%})"
                 + ("; then " + ", ".join(f"{plain(name)} {p:.0%}" for name, p in t["top"][1:3])
                    if len(t["top"]) > 1 else "")
                 for column, t in tags.items()]
        b.markdown("Tags\n" + "\n".join(lines))
        b.caption("How to read this: each attribute's tag with the model's probability, then "
                  "its runners-up. A value too rare to learn alone is answered as \"other\".")


if files:
    payload = [(f.name, f.getvalue()) for f in files]
    try:
        if classifier.is_trained(train_sub, preset):
            answer_sub = train_sub  # trained by "Train now" in this run
        elif fallback is None and may_train:
            st.info("No model is trained for these settings: training one first.")
            with progress.task("Training the model that will answer", keep=True) as cb:
                classifier.train(train_sub, preset, progress=cb)
        with st.spinner("Classifying..."):
            results = classifier.classify_images(answer_sub, payload, model=preset, map_sub=sub)
    except (uploads.UploadError, classifier.TrainingNotAllowed, admission.OverBudget,
            admission.Cancelled) as exc:
        st.error(str(exc), icon=":material/error:")  # written for people, names no file
        results = []
    except Exception:  # a failure here must leave the rest of the page usable
        logger.exception("classifying %d uploads failed", len(payload))
        st.error("Classification failed; the details are in the server's log.", icon=":material/error:")
        results = []
    neighbor_ids = [n["id"] for r in results for n in r.get("neighbors", [])[:6]]
    if neighbor_ids:
        try:
            thumbs.ensure_thumbnails(answer_sub.dataset, neighbor_ids)
        except Exception:
            logger.exception("thumbnails for the classifier page")
            st.caption("Thumbnails are unavailable; the details are in the server's log.")
    for f, r in zip(files, results):
        _show_upload(f, r)
    points = [(r["name"], *r["pca"]) for r in results if r.get("pca") is not None]
    if points:
        try:
            coords, variance = pca.projection_2d(sub)
            fig = figures.upload_map_figure(coords, sub.frame(), points)
            st.plotly_chart(fig, key="clf_map")
            st.caption(f"How to read this: the subsample on its first two principal components "
                       f"({variance:.1%} of the variance), coloured by category; each star is an "
                       "upload projected the same way as the catalogue's images. Near a colour's "
                       "cloud means similar pixels, not necessarily the same category.")
        except Exception:
            logger.exception("the PCA map of uploads")
            st.caption("The PCA map is unavailable; the details are in the server's log.")

def _gallery(items: list[dict], caption) -> None:
    """Thumbnails of ``items`` (each with an ``id``), six a row, captioned by ``caption(item)``."""
    try:
        thumbs.ensure_thumbnails(train_sub.dataset, [w["id"] for w in items])
    except Exception:
        logger.exception("thumbnails for the classifier page")
        st.caption("Thumbnails are unavailable; the details are in the server's log.")
    cols = st.columns(6)
    for i, w in enumerate(items):
        path = thumbs.thumb_path(train_sub.dataset, w["id"])
        if path.is_file():
            cols[i % 6].image(str(path), width=80, caption=caption(w))


def _show_evaluation(attribute: dict, ev: dict) -> None:
    """One attribute's confusion matrix (or most confused pairs), per-class table and mistakes."""
    column, classes = attribute["column"], ev.get("classes", attribute["classes"])
    c1, c2 = st.columns([3, 2])
    with c1:
        present = sum(1 for c in ev["per_class"] if c["support"] or c["predicted"])
        if present <= figures.READABLE_CLASSES:
            st.plotly_chart(figures.confusion_figure(ev["confusion"], classes,
                                                     title=f"{column}: confusion (validation part)"),
                            key=f"clf_confusion_{column}")
            st.caption("How to read this: rows are the true value, columns the prediction; colour "
                       "is the share of the row, the number the count. A perfect model fills only "
                       "the diagonal.")
        else:
            st.markdown(f"**{plain(column)}: the most confused pairs** ({present} values, too many "
                        "for a readable matrix)")
            st.dataframe(figures.confused_pairs_table(ev), hide_index=True,
                         column_config={"share of the true class": st.column_config.NumberColumn(
                             format="percent")})
            st.caption("How to read this: how many validation products of the true value were "
                       "answered as the predicted one, most frequent first. Many pairs are near "
                       "synonyms in the catalogue (Casual Shoes and Sports Shoes, Tops and Tshirts).")
    with c2:
        st.dataframe(figures.per_class_table(ev), hide_index=True,
                     column_config={k: st.column_config.NumberColumn(format="%.2f")
                                    for k in ("precision", "recall", "f1")})
        st.caption("How to read this: precision is how often a prediction of the value is right, "
                   "recall how many of the value are found; values with few products have "
                   "anecdotal or no figures, as the note says.")
    wrong = ev["misclassified"][:12]
    if wrong:
        n_wrong = int(round((1 - ev["accuracy"]) * ev["n_samples"]))
        st.markdown(f"**Misclassified: the {len(wrong)} most confident of {n_wrong}**")
        _gallery(wrong, lambda w: f"{plain(w['true'])} → {plain(w['predicted'])} ({w['confidence']:.0%})")
        st.caption("How to read this: stored label → prediction (its confidence); the most "
                   "confident mistakes first. Some are the catalogue's own mistakes: see the "
                   "catalogue check below.")


# ----------------------------------------------------------------------------
# How the model was trained and how it fares
# ----------------------------------------------------------------------------
if info is not None:
    st.header("Training and evaluation")
    p = info["params"]
    m = st.columns(5)
    m[0].metric("Validation accuracy", f"{info['val_accuracy']:.1%}",
                help=f"On the notebook's validation set: {info['n_val']:,} images never used "
                     "for training or tuning.")
    m[1].metric("CNN alone", f"{info.get('cnn_val_accuracy', info['val_accuracy']):.1%}",
                help="The default model's answer averages the CNN's probabilities with a "
                     f"PCA + SVC partner on the same photos (weight {info.get('svc_weight', 0):.1f}, "
                     "chosen on the tuning slice); this is the CNN without it.")
    m[2].metric("Training time", f"{info['seconds']:.0f} s",
                help="Wall time on this server, SVC partner included; "
                     + (f"{info['cpu_seconds']:.0f} CPU-seconds." if info.get("cpu_seconds") else ""))
    m[3].metric("Parameters", f"{p['total']:,}")
    m[4].metric("Bias parameters", f"{p['biases']:,}")
    st.plotly_chart(figures.history_figure(info["history"]), key="clf_history")
    st.caption("How to read this: loss and accuracy per epoch on the training batches (with "
               "augmentation and label smoothing, so lower) and on the tuning slice held out of "
               "the training part; the gap between them is overfitting.")
    if len(info.get("attributes", [])) > 1:
        st.subheader("Per attribute")
        st.dataframe(figures.attribute_table(info), hide_index=True,
                     column_config={k: st.column_config.NumberColumn(format="percent")
                                    for k in ("top-1", "top-5", "majority class", "macro F1")})
        st.caption("How to read this: accuracy on the validation part, top-1 and with the truth among "
                   "the 5 most probable tags; \"majority class\" is what always answering the most "
                   "frequent value would score, the floor a model must beat. Values with fewer "
                   f"than {info['recipe'].get('min_count', classifier.MIN_COUNT)} training products are "
                   "grouped as \"other\" (counted as one class).")
    attrs = info.get("attributes") or [{"column": sub.label_columns[0], "classes": list(sub.categories),
                                        "grouped": {}}]
    evaluations = info.get("evaluations") or {attrs[0]["column"]: info["evaluation"]}
    tabs = st.tabs([a["column"] for a in attrs])
    for tab, a in zip(tabs, attrs):
        ev = evaluations[a["column"]]
        with tab:
            _show_evaluation(a, ev)

# ----------------------------------------------------------------------------
# The catalogue check
# ----------------------------------------------------------------------------
if info is not None and info.get("issues"):
    st.header("Catalogue check: labels the model contradicts")
    st.caption(f"The model's answers for the {info['n_checked']:,} products it never trained on (the "
               "validation part and the tuning slice) go through confident learning (cleanlab): "
               "a product is listed when the model confidently gives it another value than the "
               "stored one. Ranked by the model's confidence; many are the catalogue's mistakes, "
               "some the model's.")
    table = figures.label_issues_table(info["issues"], train_sub.frame())
    counts = table["attribute"].value_counts()
    column = st.selectbox("Attribute", [a["column"] for a in info["attributes"]], key="clf_check_attr",
                          format_func=lambda c: f"{c} ({counts.get(c, 0)} flagged)")
    flagged = table[table["attribute"] == column]
    if flagged.empty:
        st.info("The model contradicts no stored label of this attribute with confidence.")
    else:
        shown = flagged.head(24).to_dict("records")
        _gallery(shown, lambda w: f"{plain(w['stored label'])} → {plain(w['model says'])} "
                                  f"({w['confidence']:.0%})")
        st.caption("How to read this: stored label → the model's answer (its confidence). Open the "
                   "table for the product names, or download every flagged product as CSV.")
        with st.expander(f"All {len(flagged)} flagged for {plain(column)}"):
            st.dataframe(flagged, hide_index=True,
                         column_config={k: st.column_config.NumberColumn(format="percent")
                                        for k in ("confidence", "probability of the stored label")})
    st.download_button("Download every flagged product (CSV)", table.to_csv(index=False),
                       file_name="catalogue-check.csv", mime="text/csv", icon=":material/download:")

# ----------------------------------------------------------------------------
# The classical baseline
# ----------------------------------------------------------------------------
st.header("Baseline: PCA + RBF SVC")
st.caption("What the CNN earns for its cost: a support vector machine on 100 principal "
           "components of the notebook's grayscale features, on the same split.")
try:
    base = progress.run(classifier.baseline, sub, label="Fitting PCA + SVC")
    b = st.columns(3)
    b[0].metric("Validation accuracy", f"{base['val_accuracy']:.1%}")
    b[1].metric("Fit time", f"{base['seconds']:.1f} s")
    if info is not None:
        b[2].metric("Default model minus baseline", f"{(info['val_accuracy'] - base['val_accuracy']) * 100:+.1f} pts")
    with st.expander("Baseline per class"):
        st.dataframe(figures.per_class_table(base["evaluation"]), hide_index=True)
    if info is not None and len(info.get("attributes", [])) > 1 and classifier.baseline_tags.is_cached(train_sub):
        tags = classifier.baseline_tags(train_sub)
        with st.expander("Per attribute, beside the tagger"):
            st.dataframe(figures.attribute_table(info, tags), hide_index=True)
except Exception:
    logger.exception("the PCA + SVC baseline")
    st.error("The baseline could not be computed; the details are in the server's log.")
