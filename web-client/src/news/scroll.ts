// The projector's slow auto-scroll: down through the wall at a reading
// pace, a pause at the bottom, back to the top, a pause, again. Only when
// the page is taller than the screen; a new report at the top shows on
// the next pass. Stops while the pointer or keyboard is used, for a while.

/** Pixels per second: about a line of projector type every two seconds. */
const SPEED = 30
const PAUSE_MS = 4000
const IDLE_AFTER_INPUT_MS = 10000

export function autoScroll(): () => void {
  let frame = 0
  let last = 0
  let pausedUntil = performance.now() + PAUSE_MS
  let position = window.scrollY
  let wrapAt = 0
  const hold = () => {
    pausedUntil = performance.now() + IDLE_AFTER_INPUT_MS
    position = window.scrollY
  }
  const step = (now: number) => {
    frame = requestAnimationFrame(step)
    const dt = last ? Math.min(now - last, 100) : 0
    last = now
    if (now < pausedUntil) return
    const bottom = document.documentElement.scrollHeight - window.innerHeight
    if (bottom <= 2) return
    if (position >= bottom - 1) {
      // At the bottom: stay a moment, then start over from the top.
      if (!wrapAt) wrapAt = now + PAUSE_MS
      if (now < wrapAt) return
      wrapAt = 0
      position = 0
      window.scrollTo(0, 0)
      pausedUntil = now + PAUSE_MS
      return
    }
    position = Math.min(bottom, position + (SPEED * dt) / 1000)
    window.scrollTo(0, position)
  }
  frame = requestAnimationFrame(step)
  window.addEventListener('wheel', hold, { passive: true })
  window.addEventListener('keydown', hold)
  window.addEventListener('touchstart', hold, { passive: true })
  return () => {
    cancelAnimationFrame(frame)
    window.removeEventListener('wheel', hold)
    window.removeEventListener('keydown', hold)
    window.removeEventListener('touchstart', hold)
  }
}
