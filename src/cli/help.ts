/** Help texts of the `colloquy` command, one per subcommand. */

export const USAGE = `Usage: colloquy <command> [options]

Commands:
  start      Start the voice agent server (checks its setup first)
  console    Talk to an agent from the terminal (text; microphone and speaker through sox)
  init       Create an agent project that runs offline at once
  help       Show help for a command: colloquy help <command>

Options:
  -h, --help     Show help (also after a command: colloquy start --help)
  -v, --version  Print the version

Docs: README.md and docs/ in the package (docs/server.md for the server).`;

export const START_HELP = `Usage: colloquy start [--port N] [--host ADDRESS] [--config FILE] [--workers N]

Starts the server: Pipecat RTVI over WebSocket (GET /ws, POST /connect), SmallWebRTC (POST
/api/offer) when @roamhq/wrtc is installed, and the playground page at /. Before it listens it
checks everything it will need (environment values, the config file, model specs and API keys,
the programs and files of the embedded models) and refuses with one line per problem.
SIGINT or SIGTERM ends every session (clients get conversation-end) and exits.

Options:
  --port N         Port to listen on (PORT; default 8080; 0 picks a free port)
  --host ADDRESS   Address to listen on (HOST; default 0.0.0.0)
  --config FILE    JSON config file: agents, tools, models (COLLOQUY_CONFIG)
  --workers N      Worker processes behind the one port (COLLOQUY_WORKERS; default: one per
                   core); each session runs on one worker, a crashed worker is restarted

Environment:
  COLLOQUY_LLM, COLLOQUY_STT, COLLOQUY_TTS, COLLOQUY_VAD   model specs (openai:gpt-4.1-mini,
      pocketsphinx:grammar.jsgf, espeak, silero, scripted:FILE, ...)
  OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GENERATIVE_AI_API_KEY, GROQ_API_KEY
  COLLOQUY_AUTH_TOKEN        Bearer token clients must send
  COLLOQUY_IDLE_TIMEOUT_MS   end sessions idle this long (default 120000)
  COLLOQUY_RTVI_EVENTS       false turns RTVI events off
  COLLOQUY_LOG_LEVEL         debug, info (default), warn, error, silent
  COLLOQUY_LOG_FORMAT        human (default) or json

With no API key and no config, it runs the offline demo (scripted LLM, pocketsphinx, eSpeak NG,
Silero).`;

export const CONSOLE_HELP = `Usage: colloquy console [--url URL] [--token TOKEN] [--config FILE] [--text]
                        [--mic-file FILE] [--speaker-file FILE]

Talks to an agent from the terminal and shows the conversation's events as they happen: what you
said, the agent's words, tool calls, interruptions and per-turn latency. Type a line and press
Enter to send it as text. With sox installed (the rec and play programs), the microphone and the
speaker are used too, unless --text is given. sox uses the default sound devices; set AUDIODEV
(e.g. AUDIODEV=hw:1) to choose others.

Without --url it runs the agent itself, configured like \`colloquy start\` (environment and
--config). Type /quit or press Ctrl-D to leave.

Options:
  --url URL            Connect to a running server (e.g. http://localhost:8080)
  --token TOKEN        Bearer token for that server (COLLOQUY_AUTH_TOKEN)
  --config FILE        JSON config file for the agent run in-process (COLLOQUY_CONFIG)
  --text               Text only: no microphone or speaker, and a text chat on the server (no
                       speech: each answer arrives as text at once). Also the default without sox
  --mic-file FILE      Speak a recording instead of the microphone (any format sox reads), sent
                       at real time, then silence
  --speaker-file FILE  Write the agent's audio to FILE (e.g. answer.wav) instead of playing it`;

export const INIT_HELP = `Usage: colloquy init [DIR] [--ts | --json]

Creates an agent project in DIR (default: the current directory) that runs offline at once:
  --ts     (default) an agent in TypeScript (agent.ts) with a tool, run with a mock model,
           and a test; \`npm install && npm start\` talks to it from the terminal
  --json   a JSON agent (agent.json) with a scripted LLM (script.json) for \`colloquy start\`
Existing files are never overwritten.`;

export const HELP: Record<string, string> = {
  start: START_HELP,
  console: CONSOLE_HELP,
  init: INIT_HELP,
  help: USAGE,
};
