"""The papers' pictures: the page-1 title block (pdf.py), the arXiv HTML version's first
figure and the Hugging Face thumbnail (figures.py), made into small WebP files (encode.py),
kept in the data dir under content-addressed names (files.py), and the step that makes them
(pipeline.py, `papersift images`). Their metadata goes through the store's ImageStore."""
