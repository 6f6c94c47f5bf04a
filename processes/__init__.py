"""The bundled process definitions, one folder per bundle (BPMN, DMN, forms), shipped as package data.

A package so that an installed xieshang finds them beside its code (engine/settings.py: the default
XIESHANG_PROCESSES_PATH); it holds no Python besides this file.
"""
