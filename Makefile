# Every target that runs project code depends on .venv/.installed, so
# `make report` and `make test` work on a fresh clone with only Python and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Commands take the folder: they read every questionnaire in it, and leave the bundled
# invented samples out as soon as a real file is there (see README).
RAW := data/raw
# make report YEAR=2018: the year of files that state none (a file's own year always wins;
# one that contradicts it is reported). make lab YEAR=2018 opens the notebooks on that year.
YEAR ?=
YEAR_OPTION := $(if $(YEAR),--year $(YEAR))
# make report CHAPTER_YEAR=2016: the fiscal year of reports/report.docx (default: YEAR, else the latest year).
CHAPTER_OPTION := $(if $(CHAPTER_YEAR),--chapter-year $(CHAPTER_YEAR))
# make report FORMATS=png: only the PNG of each figure, which is quicker (SVG and PDF are for print).
FORMATS_OPTION := $(if $(FORMATS),--formats $(FORMATS))

.DEFAULT_GOAL := help

.PHONY: help setup report processed test notebooks lab lock clean

help: ## このヘルプを表示する
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

setup: $(STAMP) ## .venv を作り、固定したバージョンで本ツールと依存パッケージを入れる

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 以上が必要です")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[notebooks,test]'
	@touch $(STAMP)

report: $(STAMP) ## data/raw/ の全ファイルから報告書用の図表と Word の章 reports/report.docx を書き出す（YEAR=2018 で年度のないファイルの年度）
	$(BIN)/kyodo-analysis all $(RAW) $(YEAR_OPTION) $(CHAPTER_OPTION) $(FORMATS_OPTION) --processed data/processed --out reports

processed: $(STAMP) ## data/raw/ から data/processed/ を作り直す
	$(BIN)/kyodo-analysis process $(RAW) $(YEAR_OPTION) --out data/processed

# Unit tests run in one worker per core (pytest-xdist), the slow ones (marked slow) included;
# while developing, `.venv/bin/python -m pytest -n auto -m "not slow" tests` skips those.
test: $(STAMP) ## すべてのテスト（ユニットテストとノートブックの nbval）を実行する
	$(BIN)/python -m pytest -n auto --dist loadfile tests
	$(BIN)/python tools/run_notebooks.py check

notebooks: $(STAMP) ## ノートブックを上から実行し直し、出力を保存する（データやコードを変えたあとに）
	$(BIN)/python tools/run_notebooks.py execute

lab: $(STAMP) ## JupyterLab を開く
	$(if $(YEAR),KYODO_FISCAL_YEAR=$(YEAR)) $(BIN)/jupyter lab notebooks/

lock: ## 依存パッケージのバージョンを constraints.txt に固定し直す（更新するときだけ）
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet '.[notebooks,test]'
	.venv-lock/bin/python -m pip freeze --exclude kyodo-analysis > constraints.txt
	rm -rf .venv-lock

clean: ## .venv と生成物と形態素解析のキャッシュを消す（data/raw/ には触れない）
	@if [ -x $(BIN)/kyodo-analysis ]; then $(BIN)/kyodo-analysis cache clear; \
	  else echo "キャッシュは消していません（.venv がないため）。先に make setup を実行してください。"; fi
	rm -rf $(VENV) .cache reports data/processed/*.csv data/processed/*.xlsx
