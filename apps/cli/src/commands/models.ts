import { resolve } from 'node:path';
import { loadConfig } from '@unity/llm-router';
import { listModels, modelStoreDir, removeModel, type StoredModel } from '@unity/llm-router/model-store';
import type { Command } from 'commander';
import { describeDefaultModel, formatBytes, pullWithProgress, verificationNote } from '../model-pull';
import { formatTable } from '../terminal-io';

interface DirFlags {
  dir?: string;
  config?: string;
}

const dirHelp =
  'the model store (default: llamacpp.store_dir in the config, else $UNITY_MODELS_DIR, else ~/.unity/models)';
const configHelp =
  'config file whose llamacpp.store_dir names the store (default: $UNITY_CONFIG, ./configs/system.yaml)';

/** The config `--config` (or the usual search) finds, with the environment's settings applied. */
async function storeConfig(flags: DirFlags, env: Record<string, string | undefined> = process.env) {
  const { config } = await loadConfig({
    ...(flags.config === undefined ? {} : { path: flags.config }),
    cwd: process.cwd(),
    env,
  });
  return config;
}

/** The model store: `--dir`, else the folder the router uses (`llamacpp.store_dir`, `$UNITY_MODELS_DIR`, default). */
async function modelsDir(flags: DirFlags, env: Record<string, string | undefined> = process.env): Promise<string> {
  if (flags.dir) return resolve(flags.dir);
  return modelStoreDir(await storeConfig(flags, env), { env });
}

function formatCount(count: number | undefined): string {
  if (count === undefined) return '-';
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)}K`;
  return String(count);
}

function toJson(model: StoredModel) {
  // The header's own `general.name` is often just the architecture: the store name stays `name`.
  const { name: generalName, ...facts } = model.gguf ?? {};
  return {
    name: model.name,
    path: model.path,
    bytes: model.bytes,
    modifiedAt: model.modifiedAt.toISOString(),
    ...facts,
    ...(generalName ? { generalName } : {}),
    ...(model.error ? { error: model.error } : {}),
  };
}

export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('manage the GGUF models of the embedded engine (llamacpp/<name>): pull, list, rm');

  models
    .command('pull')
    .description('download a GGUF model into the store, resuming an interrupted download')
    .argument(
      '<source>',
      '`default` (the default model), an http(s) URL of a .gguf file, hf:<owner>/<repo>/<file>.gguf, or a local .gguf file to copy in',
    )
    .option('--dir <dir>', dirHelp)
    .option('--config <file>', configHelp)
    .option('--sha256 <hex>', 'expected sha256 of the file: a download that differs is deleted')
    .option('--force', 'download again even if the store already holds the model')
    .addHelpText(
      'after',
      '\n`default` is Qwen2.5 0.5B Instruct (Q4_K_M, about 491 MB) from the Hugging Face hub, checked against the sha256\n' +
        'the hub publishes for it. llamacpp.default_model in the config (or UNITY_DEFAULT_MODEL) replaces it with a URL,\n' +
        'hf: reference or local .gguf file (for CI and offline machines); HF_ENDPOINT names a hub mirror.',
    )
    .action(async (sourceArg: string, flags: DirFlags & { sha256?: string; force?: boolean }) => {
      const dir = await modelsDir(flags);
      let source = sourceArg;
      if (sourceArg === 'default') {
        const { model, size } = describeDefaultModel((await storeConfig(flags)).llamacpp.default_model);
        source = model.source;
        const from = model.overridden ? ' (llamacpp.default_model or UNITY_DEFAULT_MODEL)' : '';
        process.stderr.write(`pulling the default model ${model.name} (${size}) from ${source}${from}\n`);
      }
      const result = await pullWithProgress(source, {
        dir,
        ...(flags.sha256 ? { sha256: flags.sha256 } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      process.stdout.write(
        result.alreadyPresent
          ? `${result.name} is already in ${dir} (${formatBytes(result.bytes)}); use --force to download it again\n`
          : `pulled ${result.name} (${formatBytes(result.bytes)}, ${verificationNote(result)}) into ${dir}\n`,
      );
      process.stdout.write(`use it as llamacpp/${result.name}\n`);
    });

  models
    .command('list')
    .alias('ls')
    .description('list the models in the store with size and architecture (from the GGUF header)')
    .option('--dir <dir>', dirHelp)
    .option('--config <file>', configHelp)
    .option('--json', 'print JSON')
    .action(async (flags: DirFlags & { json?: boolean }) => {
      const dir = await modelsDir(flags);
      const found = await listModels(dir);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(found.map(toJson), null, 2)}\n`);
        return;
      }
      if (found.length === 0) {
        process.stdout.write(
          `no models in ${dir}; pull the default one with: unity models pull default (or a URL, hf:owner/repo/file.gguf, path/to/file.gguf)\n`,
        );
        return;
      }
      const rows = [
        ['NAME', 'SIZE', 'ARCH', 'CONTEXT', 'PARAMS', 'QUANT'],
        ...found.map((m) =>
          m.gguf
            ? [
                m.name,
                formatBytes(m.bytes),
                m.gguf.architecture,
                m.gguf.contextLength === undefined ? '-' : String(m.gguf.contextLength),
                formatCount(m.gguf.parameterCount),
                m.gguf.quantization ?? '-',
              ]
            : [m.name, formatBytes(m.bytes), `unreadable: ${m.error ?? 'unknown error'}`, '', '', ''],
        ),
      ];
      process.stdout.write(`${formatTable(rows)}\n`);
    });

  models
    .command('rm')
    .description('remove a model (and any unfinished download of it) from the store')
    .argument('<name>', 'the model name as `unity models list` shows it')
    .option('--dir <dir>', dirHelp)
    .option('--config <file>', configHelp)
    .action(async (name: string, flags: DirFlags) => {
      const path = await removeModel(name, await modelsDir(flags));
      process.stdout.write(`removed ${path}\n`);
    });
}
