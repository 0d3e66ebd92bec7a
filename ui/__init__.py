"""Streamlit-side helpers shared by the pages: settings, progress, thumbnails, the image-hover scatter."""
