"""kyodo-analysis."""
import os

# Keep openpyxl on its own writer even when lxml (pulled in by python-docx) is installed,
# so the .xlsx outputs stay byte-identical; must run before any openpyxl import.
os.environ["OPENPYXL_LXML"] = "False"
