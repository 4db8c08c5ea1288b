// Moved to shared/ (the edge updater's slot state file uses it too).
export { writeFileAtomic } from '../../shared/atomic-file.js'
