import { Box, Text } from "ink";
import { useTheme } from "../tui/theme.ts";

export function Confirm({ message, color }: { message: string; color: boolean }) {
  const theme = useTheme();
  return (
    <Box borderStyle="round" {...(color && theme.confirm ? { borderColor: theme.confirm } : {})} paddingX={1}>
      <Text>
        {message} <Text bold>[y/N]</Text>
      </Text>
    </Box>
  );
}
