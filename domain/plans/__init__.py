"""The annual consultation plan (年度协商计划): planned topics per year and tier, approved by the county CPPCC."""
