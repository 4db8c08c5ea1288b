import { InvalidArgumentError } from 'commander'

/** Commander argument parsers that name the flag and what is allowed. */
export function portFlag(flag: string): (value: string) => number {
  return (value) => integerInRange(flag, value, 0, 65535)
}

export function integerFlag(flag: string, min: number, max: number): (value: string) => number {
  return (value) => integerInRange(flag, value, min, max)
}

export function numberFlag(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be a number from ${min} to ${max} (got "${value}").`)
    }
    return n
  }
}

export function urlFlag(flag: string, protocols: string[]): (value: string) => string {
  return (value) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new InvalidArgumentError(`${flag} must be a URL such as ${protocols[0]}//127.0.0.1:1883 (got "${value}").`)
    }
    if (!protocols.includes(url.protocol)) {
      throw new InvalidArgumentError(`${flag} must use ${protocols.join(' or ')} (got "${url.protocol}").`)
    }
    return value
  }
}

function integerInRange(flag: string, value: string, min: number, max: number): number {
  const n = Number(value)
  if (!/^-?\d+$/.test(value.trim()) || n < min || n > max) {
    throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max} (got "${value}").`)
  }
  return n
}
