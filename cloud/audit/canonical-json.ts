// Moved to shared/ (the OTA bundle format signs canonical JSON on both sides).
export { canonicalJson } from '../../shared/canonical-json.js'
