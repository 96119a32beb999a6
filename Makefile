# The README's two commands: `make pipeline` and `make test`. Both set up what they need first.
.PHONY: setup pipeline test bench soak dist notebook k8s clean-lake

setup:
	@bash scripts/setup.sh

pipeline: setup
	.venv/bin/crosslake pipeline

test:
	@bash scripts/setup.sh gpu k8s airflow
	.venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

dist: setup
	bash scripts/build_dist.sh dist

bench: setup
	.venv/bin/python bench/report.py

soak: setup
	.venv/bin/python bench/report.py --only soak

clean-lake:
	rm -rf lake data

notebook: setup
	mkdir -p build/notebooks
	.venv/bin/papermill --cwd . notebooks/walkthrough.ipynb build/notebooks/walkthrough.ipynb

k8s:
	bash scripts/k8s_render.sh build/k8s
