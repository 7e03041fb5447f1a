// UI entry point: theme first (no flash), then the application shell.
import './styles/theme.css';
import { applyStoredTheme } from './app/theme.js';
import './app/qx-app.js';

applyStoredTheme();
