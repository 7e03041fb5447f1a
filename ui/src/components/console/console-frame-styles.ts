// The frame both consoles share (serial and graphical): a column that fills full screen in black,
// with a wrapping toolbar above the screen.
import { css } from 'lit';

export const consoleFrameStyles = css`
  :host {
    display: flex;
    flex-direction: column;
    min-height: 420px;
  }
  :host(:fullscreen) {
    background: #000;
    padding: 0.5rem;
  }
  .bar {
    display: flex;
    gap: 0.5rem;
    align-items: center;
    margin-bottom: 0.5rem;
    flex-wrap: wrap;
  }
  .bar .spacer {
    flex: 1;
  }
`;
