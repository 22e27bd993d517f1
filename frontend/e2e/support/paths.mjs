// Where things are: the repository, its Python, the test model and the test output folder.
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const FRONTEND = fileURLToPath(new URL('../..', import.meta.url))
export const REPO = path.resolve(FRONTEND, '..')
export const PYTHON = process.env.AICLONE_PYTHON_BIN ?? path.join(REPO, '.venv', 'bin', 'python')
export const TEST_MODEL = process.env.AICLONE_TEST_MODEL ?? path.join(REPO, 'models', 'base', 'SmolLM2-135M-Instruct.Q4_1.gguf')
export const OUTPUT = path.join(REPO, 'test-output')
// Screenshots stay after the run for people to look at (frontend/test-results/, gitignored).
export const SCREENSHOTS = path.join(FRONTEND, 'test-results', 'screenshots')
export const CHROMIUM = process.env.AICLONE_CHROMIUM ?? '/usr/bin/chromium'
