/** swagger-ui-dist ships no types: the one module the API docs use (the directory of its static files). */
declare module 'swagger-ui-dist/absolute-path.js' {
  const getAbsoluteFSPath: () => string;
  export default getAbsoluteFSPath;
}
