import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The registered operations manifest lives in the repository's graphql/operations/.
export default defineConfig({
  plugins: [react()],
  server: { port: 5173, fs: { allow: ['.', '../../graphql/operations'] } },
  build: { sourcemap: true },
});
