export { validatePackage, type ValidationInput, type ValidationOutcome } from './validate-package.js';
export { isValidationDiagnostic, VALIDATION_CODES, type ValidationCode } from './diagnostics.js';
export { validateBuild } from './build-step.js';
export { applyStrict } from './strict.js';
