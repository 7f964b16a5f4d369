const ansiPattern = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Text without ANSI colour and cursor codes (runners colour their output when FORCE_COLOR is set). */
export function stripAnsi(text: string): string {
  return text.replace(ansiPattern, '');
}
