"""Process-bundle problems in the reader's language: the engine names each problem in English (its messages are also
what the CLI prints and the tests read); the studio's pages show the ones we know in Chinese, with the English kept
for what the pattern does not cover (a library's own words, e.g. SpiffWorkflow's or lxml's)."""

from __future__ import annotations

import re

from flask_babel import get_locale

from .errors import readable

_PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(pattern), words) for pattern, words in (
    (r"no such file or directory", "没有该文件或目录"),
    (r"(\d[\d,]*) files; the limit is (\d+)", r"共 \1 个文件，上限 \2 个"),
    (r"unknown DMN namespace", "未知的 DMN 命名空间"),
    (r"(\w+): form file (\S+) is missing from the bundle", r"表单文件 \2 不在草稿中（\1）"),
    (r"not a valid JSON Schema: (.*)", r"不是有效的 JSON Schema：\1"),
    (r"the bundle has no \.bpmn file", "没有流程图（.bpmn 文件）"),
    (r"unknown DMN decision id (.*)", r"找不到决策 \1"),
    (r"decision has no usable table: (.*)", r"决策没有可用的决策表：\1"),
    (r"no executable process .*", "没有可执行的流程：请在流程属性中勾选“可执行”"),
    (r"cannot build the process: (.*)", r"无法构建流程：\1"),
    (r"declares encoding (\S+); only UTF-8 is accepted", r"文件声明编码 \1，只接受 UTF-8"),
    (r"not UTF-8 text; save the file as UTF-8", "不是 UTF-8 文本，请另存为 UTF-8"),
    (r"file is ([\d,]+) bytes; the limit is ([\d,]+) bytes", r"文件 \1 字节，超过上限 \2 字节"),
    (r"DOCTYPE and ENTITY declarations are not allowed", "不允许 DOCTYPE 和 ENTITY 声明"),
    (r"not well-formed XML: (.*)", r"XML 格式错误：\1"),
    (r"not valid JSON: (.*)", r"JSON 格式错误：\1"),
    (r"invalid file name: .*", "文件名无效：只用字母、数字、_ - .，文件夹以 / 分隔，以 .bpmn、.dmn 或 .json 结尾"),
    (r"invalid process id: .*", "流程标识无效：以字母或 _ 开头，其后为字母、数字、_ 或 -，最多 64 个字符"),
    (r"a process with the id '([^']*)' exists already", r"流程标识 \1 已被使用"),
    (r"the draft would be ([\d,]+) bytes; the limit is ([\d,]+) bytes", r"草稿将达 \1 字节，超过上限 \2 字节"),
    (r"schema: (.*)", r"不符合 BPMN/DMN 规范：\1"),
))


def problem_text(message: str) -> str:
    """An engine problem for this page's reader: Chinese where we know the problem, else the engine's words."""
    if str(get_locale()) == "en":
        return readable(message)
    for pattern, words in _PATTERNS:
        if pattern.fullmatch(message):
            return pattern.sub(words, message)
    return message
